//! `amberflo validate`: every invalid record with its file, line, field and reason.

use std::io::Write;

use crate::cli::ValidateArgs;
use crate::error::{CliError, Exit};
use crate::input::Input;
use crate::records;

pub(crate) fn run(args: &ValidateArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (mut valid, mut invalid) = (0_u64, 0_u64);
    let mut written = Ok(());
    for path in &args.inputs.files {
        let input = Input::open(path, args.inputs.input_format)?;
        let name = path.display().to_string();
        records::read(input, !args.require_unique_ids, |item| match item {
            Ok(_) => valid += 1,
            Err(error) => {
                invalid += 1;
                if written.is_ok() {
                    written = writeln!(out, "{name}:{}: {}", error.line, error.reason);
                }
            }
        })?;
    }
    written
        .and_then(|()| writeln!(out, "{valid} valid, {invalid} invalid"))
        .or_else(crate::output::output_failed)?;
    if invalid > 0 {
        return Err(CliError::new(
            Exit::Records,
            format!("{invalid} invalid records"),
        ));
    }
    Ok(())
}
