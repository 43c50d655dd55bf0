//! LLM token metering: turn a provider response's token usage into meter records.
//!
//! Mirrors the Python SDK's `meter_llm`: a chat completion or embedding response (as a
//! [`serde_json::Value`]) from OpenAI, Anthropic, Cohere (v1 and v2) or Google Vertex AI
//! becomes an `input_tokens` record and, where the provider reports it, an `output_tokens`
//! record, with `model`, `object` and `provider` dimensions (the caller's dimensions win on
//! conflicts).

use std::collections::BTreeMap;

use amberflo_types::{MeterRecord, Rule, ValidationError};
use serde_json::Value;

/// The meter that counts prompt (input) tokens.
pub const INPUT_TOKENS_METER: &str = "input_tokens";
/// The meter that counts completion (output) tokens.
pub const OUTPUT_TOKENS_METER: &str = "output_tokens";

/// Which provider's shape a response matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LlmProvider {
    /// Anthropic Messages.
    Anthropic,
    /// OpenAI chat completions and embeddings.
    OpenAi,
    /// Cohere chat, v1 and v2.
    Cohere,
    /// Google Vertex AI `generateContent`.
    VertexAi,
}

impl LlmProvider {
    /// The `provider` dimension value.
    pub fn as_str(self) -> &'static str {
        match self {
            LlmProvider::Anthropic => "anthropic",
            LlmProvider::OpenAi => "openai",
            LlmProvider::Cohere => "cohere",
            LlmProvider::VertexAi => "vertexai",
        }
    }
}

/// The token usage found in one provider response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TokenUsage {
    /// The provider whose shape matched.
    pub provider: LlmProvider,
    /// The model, or `"unknown model"` where the response does not say.
    pub model: String,
    /// The kind of response (`message`, `chat.completion`, `embedding`, `text`, ...).
    pub object: String,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens, where the response reports them (embeddings do not).
    pub output_tokens: Option<u64>,
}

const UNKNOWN_MODEL: &str = "unknown model";

/// Finds the token usage in a provider response, or `None` when no known shape matches.
///
/// A token count must be a whole number, at least 0 (`12`, or `12.0`): text (`"12"`), a
/// negative or a fractional count is a [`ValidationError`] naming the field
/// ([`Rule::WrongType`]), and so is a known shape with an output count but no input count
/// ([`Rule::Missing`]), rather than metering less than was used. A shape without any token
/// count (a Cohere rerank's `search_units`, `"usageMetadata": null`) is not token usage:
/// `None`.
///
/// ```
/// use amberflo::llm::{LlmProvider, token_usage};
///
/// let response = serde_json::json!({
///     "object": "chat.completion",
///     "model": "gpt-4o",
///     "usage": {"prompt_tokens": 12, "completion_tokens": 30}
/// });
/// let usage = token_usage(&response)?.unwrap();
/// assert_eq!(usage.provider, LlmProvider::OpenAi);
/// assert_eq!((usage.input_tokens, usage.output_tokens), (12, Some(30)));
///
/// let text = serde_json::json!({"object": "chat.completion", "usage": {"prompt_tokens": "12"}});
/// let error = token_usage(&text).unwrap_err();
/// assert_eq!(error.field(), "usage.prompt_tokens");
/// # Ok::<(), amberflo::ValidationError>(())
/// ```
pub fn token_usage(response: &Value) -> Result<Option<TokenUsage>, ValidationError> {
    let text = |key: &str| response.get(key).and_then(Value::as_str);
    let model = || {
        let model = text("model").filter(|model| !model.trim().is_empty());
        model.unwrap_or(UNKNOWN_MODEL).to_owned()
    };
    if let Some(tokens) = response.get("usage").filter(|u| u.is_object()) {
        let counts = |input, output| Counts::new("usage", tokens, input, output);
        if text("type") == Some("message") {
            let counts = counts("input_tokens", Some("output_tokens"));
            return found(LlmProvider::Anthropic, model(), "message", counts);
        }
        if text("object") == Some("chat.completion") {
            let counts = counts("prompt_tokens", Some("completion_tokens"));
            return found(LlmProvider::OpenAi, model(), "chat.completion", counts);
        }
        if is_embedding(response) {
            let counts = counts("prompt_tokens", None);
            return found(LlmProvider::OpenAi, model(), "embedding", counts);
        }
        if let Some(billed) = tokens.get("billed_units") {
            return cohere("usage.billed_units", billed);
        }
    }
    if let Some(billed) = response
        .get("meta")
        .and_then(|meta| meta.get("billed_units"))
    {
        return cohere("meta.billed_units", billed);
    }
    if let Some(tokens) = response.get("usageMetadata") {
        let counts = Counts::new(
            "usageMetadata",
            tokens,
            "promptTokenCount",
            Some("candidatesTokenCount"),
        );
        let model = UNKNOWN_MODEL.to_owned();
        return found(LlmProvider::VertexAi, model, "vertexCompletion", counts);
    }
    Ok(None)
}

/// The usage of one recognised shape: `provider`'s response of kind `object`, its counts
/// where `counts` says.
fn found(
    provider: LlmProvider,
    model: String,
    object: &str,
    counts: Counts<'_>,
) -> Result<Option<TokenUsage>, ValidationError> {
    // No token count where the shape keeps them (a Cohere rerank's `search_units`, a `null`
    // usage): not a token usage answer.
    let present = |key: &str| counts.tokens.get(key).is_some_and(|value| !value.is_null());
    if !(present(counts.input) || counts.output.is_some_and(present)) {
        return Ok(None);
    }
    let input = count(counts.parent, counts.tokens, counts.input)?
        .ok_or_else(|| ValidationError::new(counts.field(counts.input), Rule::Missing))?;
    let output = match counts.output {
        Some(key) => count(counts.parent, counts.tokens, key)?,
        None => None,
    };
    Ok(Some(TokenUsage {
        provider,
        model,
        object: object.to_owned(),
        input_tokens: input,
        output_tokens: output,
    }))
}

/// Cohere's `billed_units` (v1 under `meta`, v2 under `usage`; `parent` is its path).
fn cohere(parent: &'static str, billed: &Value) -> Result<Option<TokenUsage>, ValidationError> {
    let counts = Counts::new(parent, billed, "input_tokens", Some("output_tokens"));
    found(
        LlmProvider::Cohere,
        UNKNOWN_MODEL.to_owned(),
        "text",
        counts,
    )
}

/// Where one shape keeps its token counts: the object (`parent` is its path, for errors) and
/// the keys of the input and (optional) output counts.
#[derive(Clone, Copy)]
struct Counts<'a> {
    parent: &'static str,
    tokens: &'a Value,
    input: &'static str,
    output: Option<&'static str>,
}

impl<'a> Counts<'a> {
    fn new(
        parent: &'static str,
        tokens: &'a Value,
        input: &'static str,
        output: Option<&'static str>,
    ) -> Self {
        Counts {
            parent,
            tokens,
            input,
            output,
        }
    }

    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.parent)
    }
}

/// The count at `tokens[key]`: `None` when absent or `null`, else a whole number at least 0
/// (a JSON integer, or a float without a fraction), or an error naming `parent.key`.
fn count(parent: &str, tokens: &Value, key: &str) -> Result<Option<u64>, ValidationError> {
    let value = match tokens.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let whole = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n < 2f64.powi(53))
            .map(|n| n as u64)
    });
    whole.map(Some).ok_or_else(|| {
        ValidationError::new(
            format!("{parent}.{key}"),
            Rule::WrongType {
                expected: "a whole number of tokens, at least 0",
            },
        )
    })
}

fn is_embedding(response: &Value) -> bool {
    let Some(data) = response.get("data") else {
        return false;
    };
    let object_of = |item: &Value| item.get("object").and_then(Value::as_str) == Some("embedding");
    match data {
        Value::Array(items) => items.first().is_some_and(object_of),
        other => object_of(other),
    }
}

/// Turns a provider response into `input_tokens` / `output_tokens` records for
/// `customer_id`, with `model`, `object` and `provider` dimensions merged under
/// `dimensions` (the caller's win). An unrecognised response gives no records; a token count
/// that is not a whole number at least 0 is an error naming it (see [`token_usage`]).
///
/// ```
/// use std::collections::BTreeMap;
/// use amberflo::llm::token_records;
///
/// let response = serde_json::json!({
///     "type": "message",
///     "model": "claude-sonnet",
///     "usage": {"input_tokens": 10, "output_tokens": 25}
/// });
/// let records = token_records(&response, "customer-1", &BTreeMap::new())?;
/// assert_eq!(records.len(), 2);
/// assert_eq!(records[1].meter_api_name(), "output_tokens");
/// assert_eq!(records[1].meter_value(), 25.0);
/// assert_eq!(&records[0].dimensions().unwrap()["provider"], "anthropic");
/// # Ok::<(), amberflo::ValidationError>(())
/// ```
pub fn token_records(
    response: &Value,
    customer_id: &str,
    dimensions: &BTreeMap<String, String>,
) -> Result<Vec<MeterRecord>, ValidationError> {
    let Some(usage) = token_usage(response)? else {
        tracing::debug!("no known LLM token usage shape in the response");
        return Ok(Vec::new());
    };
    // The caller's dimensions come last, so they win.
    let defaults = [
        ("model", usage.model.as_str()),
        ("object", usage.object.as_str()),
        ("provider", usage.provider.as_str()),
    ];
    let merged = || {
        defaults.into_iter().chain(
            dimensions
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        )
    };
    let counts = [
        (INPUT_TOKENS_METER, Some(usage.input_tokens)),
        (OUTPUT_TOKENS_METER, usage.output_tokens),
    ];
    counts
        .into_iter()
        .filter_map(|(meter, count)| count.map(|count| (meter, count)))
        .map(|(meter, count)| {
            // Counts are below 2^53 in practice; `as` rounds beyond, never panics.
            MeterRecord::builder(meter, count as f64, customer_id)
                .dimensions(merged())
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use amberflo_types::Dimensions;
    use serde_json::json;

    fn records(response: &Value) -> Vec<(String, f64, BTreeMap<String, String>)> {
        let extra = BTreeMap::from([("team".to_owned(), "search".to_owned())]);
        token_records(response, "c-1", &extra)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.meter_api_name().to_owned(),
                    r.meter_value(),
                    r.dimensions().map(Dimensions::to_map).unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn openai_chat_gives_input_and_output_tokens() {
        let got = records(&json!({"object": "chat.completion", "model": "gpt-4o",
            "usage": {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}}));
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0.as_str(), got[0].1), ("input_tokens", 7.0));
        assert_eq!((got[1].0.as_str(), got[1].1), ("output_tokens", 9.0));
        assert_eq!(got[0].2["model"], "gpt-4o");
        assert_eq!(got[0].2["provider"], "openai");
        assert_eq!(got[0].2["team"], "search");
    }

    #[test]
    fn openai_embedding_gives_input_tokens_only() {
        let got = records(&json!({"object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "embedding": [0.1]}],
            "usage": {"prompt_tokens": 5, "total_tokens": 5}}));
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0.as_str(), got[0].1), ("input_tokens", 5.0));
        assert_eq!(got[0].2["object"], "embedding");
    }

    #[test]
    fn cohere_v1_and_v2_and_vertex_are_recognised() {
        let v1 =
            records(&json!({"meta": {"billed_units": {"input_tokens": 3, "output_tokens": 4}}}));
        let v2 =
            records(&json!({"usage": {"billed_units": {"input_tokens": 3, "output_tokens": 4}}}));
        for got in [&v1, &v2] {
            assert_eq!(got.iter().map(|r| r.1).collect::<Vec<_>>(), vec![3.0, 4.0]);
            assert_eq!(got[0].2["provider"], "cohere");
            assert_eq!(got[0].2["model"], "unknown model");
        }
        let vertex =
            records(&json!({"usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 2}}));
        assert_eq!(
            vertex.iter().map(|r| r.1).collect::<Vec<_>>(),
            vec![11.0, 2.0]
        );
        assert_eq!(vertex[0].2["provider"], "vertexai");
        assert_eq!(vertex[0].2["object"], "vertexCompletion");
    }

    #[test]
    fn a_blank_model_falls_back_to_unknown_model() {
        let got = records(&json!({"type": "message", "model": " ", "usage": {"input_tokens": 1}}));
        assert_eq!(got[0].2["model"], "unknown model");
    }

    #[test]
    fn caller_dimensions_override_the_defaults() {
        let extra = BTreeMap::from([("model".to_owned(), "pinned".to_owned())]);
        let response = json!({"type": "message", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 1}});
        let got = token_records(&response, "c-1", &extra).unwrap();
        assert_eq!(&got[0].dimensions().unwrap()["model"], "pinned");
    }

    #[test]
    fn unknown_responses_give_no_records_and_bad_customers_an_error() {
        assert!(records(&json!({"choices": []})).is_empty());
        assert!(records(&json!(null)).is_empty());
        let response = json!({"type": "message", "usage": {"input_tokens": 1}});
        let error = token_records(&response, " ", &BTreeMap::new()).unwrap_err();
        assert_eq!(error.field(), "customer_id");
    }

    fn error_of(response: &Value) -> (String, Rule) {
        let error = token_records(response, "c-1", &BTreeMap::new()).unwrap_err();
        (error.field().to_owned(), error.rule().clone())
    }

    #[test]
    fn a_count_that_is_not_a_whole_number_at_least_0_is_refused_naming_it() {
        let wrong = Rule::WrongType {
            expected: "a whole number of tokens, at least 0",
        };
        for (response, field) in [
            (
                json!({"object": "chat.completion", "usage": {"prompt_tokens": 12, "completion_tokens": "3"}}),
                "usage.completion_tokens",
            ),
            (
                json!({"object": "chat.completion", "usage": {"prompt_tokens": "12"}}),
                "usage.prompt_tokens",
            ),
            (
                json!({"type": "message", "usage": {"input_tokens": -5}}),
                "usage.input_tokens",
            ),
            (
                json!({"type": "message", "usage": {"input_tokens": 1.5}}),
                "usage.input_tokens",
            ),
            (
                json!({"meta": {"billed_units": {"input_tokens": 1, "output_tokens": true}}}),
                "meta.billed_units.output_tokens",
            ),
            (
                json!({"usageMetadata": {"promptTokenCount": [1]}}),
                "usageMetadata.promptTokenCount",
            ),
        ] {
            assert_eq!(error_of(&response), (field.to_owned(), wrong.clone()));
        }
        // A known shape without its input count meters nothing silently no more.
        assert_eq!(
            error_of(&json!({"object": "chat.completion", "usage": {"completion_tokens": 3}})),
            ("usage.prompt_tokens".to_owned(), Rule::Missing)
        );
        // Shapes without token counts are not token usage: no records, no error.
        assert!(records(&json!({"meta": {"billed_units": {"search_units": 1}}})).is_empty());
        assert!(records(&json!({"usageMetadata": null})).is_empty());
        assert!(
            records(&json!({"object": "chat.completion", "usage": {"total_tokens": 3}})).is_empty()
        );
        // Whole floats, zero and an absent or null output count are fine.
        let got = records(
            &json!({"type": "message", "usage": {"input_tokens": 12.0, "output_tokens": null}}),
        );
        assert_eq!(got.iter().map(|r| r.1).collect::<Vec<_>>(), vec![12.0]);
        let zero =
            records(&json!({"type": "message", "usage": {"input_tokens": 0, "output_tokens": 0}}));
        assert_eq!(zero.iter().map(|r| r.1).collect::<Vec<_>>(), vec![0.0, 0.0]);
    }
}
