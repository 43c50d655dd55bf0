//! The command line: every command, flag and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown under `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  some records were invalid, or not delivered (validate, ingest)
  2  the command line was wrong
  3  configuration is missing or wrong (API key, URLs)
  4  Amberflo refused a call, or could not be reached
  5  a file could not be read (or the output written)";

/// Amberflo from the command line: backfill files of meter records, check them, query usage
/// and cost, manage customers and meters.
#[derive(Debug, Parser)]
#[command(name = "amberflo", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// How results are printed (`usage`, `cost`, `customers`, `meters`, `invoices`).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
    /// Logs what the SDK does to standard error (`-v` info, `-vv` debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where Amberflo is, and the key.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// The Amberflo API key.
    #[arg(long, env = "AMBERFLO_API_KEY", global = true, hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// The API base URL (default `https://app.amberflo.io`).
    #[arg(long, env = "AMBERFLO_API_URL", global = true)]
    pub(crate) api_url: Option<String>,
    /// The ingest base URL (default `https://ingest.amberflo.io`).
    #[arg(long, env = "AMBERFLO_INGEST_URL", global = true)]
    pub(crate) ingest_url: Option<String>,
    /// Runs the command against an embedded Amberflo emulator on 127.0.0.1: nothing leaves
    /// this machine, and what it stores is gone when the command ends.
    #[arg(long, global = true)]
    pub(crate) emulator: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sends files of meter records (JSON array, NDJSON or CSV; gzip read transparently;
    /// `-` is standard input) through the SDK's batching client.
    ///
    /// A record without a `uniqueId` gets one derived from the file's first bytes, its line
    /// and its content, so rerunning the same file is deduplicated by Amberflo. With
    /// `--spool`, every accepted record is on disk first and a checkpoint lets a rerun after
    /// a crash or `kill -9` continue where it stopped.
    Ingest(IngestArgs),
    /// Checks files of meter records and reports every invalid record with its file, line,
    /// field and reason; exits 1 if any.
    Validate(ValidateArgs),
    /// Prints a meter's usage over a time range, by interval and group.
    Usage(UsageArgs),
    /// Prints the usage cost over a time range.
    Cost(CostArgs),
    /// Lists, shows, creates and deletes customers.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Lists, shows and creates meter definitions.
    #[command(subcommand)]
    Meters(MetersCommand),
    /// Shows invoices.
    #[command(subcommand)]
    Invoices(InvoicesCommand),
    /// Prints a shell completion script (`amberflo completions bash > /etc/bash_completion.d/amberflo`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How input files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InputFormat {
    /// A JSON array of records, or NDJSON: one record per line (told by the first byte).
    Json,
    /// A header row naming the columns; `meterApiName`, `meterValue`, `customerId`,
    /// `meterTimeInMillis` and `uniqueId` are the record's fields, any other column a dimension.
    Csv,
}

/// Files to read.
#[derive(Debug, Args)]
pub(crate) struct Inputs {
    /// Files of meter records; `-` reads standard input.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The files' format (default: by extension, `.csv` or `.csv.gz` is CSV, anything else
    /// JSON: an array or NDJSON, told by the first byte).
    #[arg(long, value_enum)]
    pub(crate) input_format: Option<InputFormat>,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Validates the records and sends nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Keeps every accepted record on disk under this directory until it is delivered, and
    /// a checkpoint per file (see `--resume`).
    #[arg(long)]
    pub(crate) spool: Option<PathBuf>,
    /// Continues a file from its checkpoint (the default with `--spool`; needs it).
    #[arg(long, overrides_with = "no_resume")]
    pub(crate) resume: bool,
    /// Reads every file from its start, whatever its checkpoint says.
    #[arg(long)]
    pub(crate) no_resume: bool,
    /// Delivers through an S3 bucket Amberflo reads instead of the ingest API: objects go
    /// under `PREFIX/` of `BUCKET`; credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    /// and AWS_SESSION_TOKEN.
    #[arg(long, value_name = "BUCKET/PREFIX")]
    pub(crate) to_s3: Option<String>,
    /// The bucket's region.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub(crate) s3_region: String,
    /// An S3-compatible endpoint instead of AWS's.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub(crate) s3_endpoint: Option<String>,
    /// How many times a failed batch is retried (default 6, waiting up to 2, 6, 12, 20, 40
    /// and 80 s, then 80 s for each further retry); then its records count as failed.
    #[arg(long)]
    pub(crate) retries: Option<usize>,
    /// How long to wait at the end for everything to be delivered, in seconds; what is left
    /// stays on the spool (with `--spool`) or counts as failed.
    #[arg(long, default_value_t = 300)]
    pub(crate) wait: u64,
    /// Progress display: a bar on a terminal, periodic lines otherwise.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub(crate) progress: ProgressMode,
    /// Seconds between progress lines (when not a bar).
    #[arg(long, default_value_t = 5)]
    pub(crate) progress_every: u64,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressMode {
    /// A bar when standard error is a terminal, else lines.
    Auto,
    /// A bar.
    Bar,
    /// A line every `--progress-every` seconds.
    Lines,
    /// Nothing but the summary.
    None,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub(crate) inputs: Inputs,
    /// Refuses records without a `uniqueId` (by default they pass: `ingest` derives one).
    #[arg(long)]
    pub(crate) require_unique_ids: bool,
}

/// A time range: from `--since` to `--until` (default now).
#[derive(Debug, Args)]
pub(crate) struct Range {
    /// Start: a duration ago (`90m`, `24h`, `7d`, `2w`), a date (`2024-06-01`, UTC) or epoch
    /// seconds.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// End, in the same forms (default: now).
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Bucket size: `hour`, `day`, `week` or `month`.
    #[arg(long)]
    pub(crate) interval: Option<String>,
    /// Groups by these dimensions (or `customerId`).
    #[arg(long, value_name = "NAME")]
    pub(crate) group_by: Vec<String>,
    /// Keeps only records whose dimension (or `customerId`) has one of these values:
    /// `region=us-west-2,eu-west-1`; repeat for more dimensions.
    #[arg(long, value_name = "NAME=VALUES")]
    pub(crate) filter: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// The meter's API name.
    pub(crate) meter: String,
    #[command(flatten)]
    pub(crate) range: Range,
    /// How each bucket aggregates: `sum`, `max`, `min`.
    #[arg(long, default_value = "sum")]
    pub(crate) aggregation: String,
}

#[derive(Debug, Args)]
pub(crate) struct CostArgs {
    #[command(flatten)]
    pub(crate) range: Range,
    /// The product.
    #[arg(long, default_value = "1")]
    pub(crate) product_id: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CustomersCommand {
    /// Every customer.
    List,
    /// One customer.
    Get {
        /// The customer's id.
        id: String,
    },
    /// Creates a customer.
    Create {
        /// The customer's id.
        id: String,
        /// The customer's name (default: the id).
        #[arg(long)]
        name: Option<String>,
        /// The customer's email.
        #[arg(long)]
        email: Option<String>,
        /// A trait (`key=value`); repeat for more.
        #[arg(long = "trait", value_name = "KEY=VALUE")]
        traits: Vec<String>,
    },
    /// Deletes a customer.
    Delete {
        /// The customer's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MetersCommand {
    /// Every meter definition.
    List,
    /// One meter definition.
    Get {
        /// The meter's API name.
        name: String,
    },
    /// Creates a meter definition.
    Create {
        /// The meter's API name.
        name: String,
        /// Its label (default: the name).
        #[arg(long)]
        label: Option<String>,
        /// Its type: `sum_of_all_usage`, `max`, `active_users`, ...
        #[arg(long = "type", default_value = "sum_of_all_usage")]
        meter_type: String,
        /// A dimension; repeat for more.
        #[arg(long = "dimension", value_name = "NAME")]
        dimensions: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum InvoicesCommand {
    /// A customer's latest (open) invoice.
    Latest {
        /// The customer's id.
        customer: String,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// JSON, as the API answered.
    Json,
}
