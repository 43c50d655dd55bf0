//! LLM token metering: turn a provider response's token usage into meter records.
//!
//! Mirrors the Python SDK's `meter_llm`: a chat completion or embedding response (as a
//! [`serde_json::Value`]) from OpenAI, Anthropic, Cohere (v1 and v2) or Google Vertex AI
//! becomes an `input_tokens` record and, where the provider reports it, an `output_tokens`
//! record, with `model`, `object` and `provider` dimensions (the caller's dimensions win on
//! conflicts).

use std::collections::BTreeMap;

use amberflo_types::{MeterRecord, ValidationError};
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
    pub input_tokens: f64,
    /// Completion tokens, where the response reports them (embeddings do not).
    pub output_tokens: Option<f64>,
}

const UNKNOWN_MODEL: &str = "unknown model";

/// Finds the token usage in a provider response, or `None` when no known shape matches.
///
/// ```
/// use amberflo::llm::{LlmProvider, token_usage};
///
/// let response = serde_json::json!({
///     "object": "chat.completion",
///     "model": "gpt-4o",
///     "usage": {"prompt_tokens": 12, "completion_tokens": 30}
/// });
/// let usage = token_usage(&response).unwrap();
/// assert_eq!(usage.provider, LlmProvider::OpenAi);
/// assert_eq!((usage.input_tokens, usage.output_tokens), (12.0, Some(30.0)));
/// ```
pub fn token_usage(response: &Value) -> Option<TokenUsage> {
    let number = |value: &Value, key: &str| value.get(key).and_then(Value::as_f64);
    let text = |key: &str| response.get(key).and_then(Value::as_str);
    let model = || {
        let model = text("model").filter(|model| !model.trim().is_empty());
        model.unwrap_or(UNKNOWN_MODEL).to_owned()
    };
    let usage = |provider, model: String, object: &str, input, output| {
        Some(TokenUsage {
            provider,
            model,
            object: object.to_owned(),
            input_tokens: input?,
            output_tokens: output,
        })
    };

    if let Some(tokens) = response.get("usage").filter(|u| u.is_object()) {
        if text("type") == Some("message") {
            let output = number(tokens, "output_tokens");
            return usage(
                LlmProvider::Anthropic,
                model(),
                "message",
                number(tokens, "input_tokens"),
                output,
            );
        }
        if text("object") == Some("chat.completion") {
            let output = number(tokens, "completion_tokens");
            let input = number(tokens, "prompt_tokens");
            return usage(
                LlmProvider::OpenAi,
                model(),
                "chat.completion",
                input,
                output,
            );
        }
        if is_embedding(response) {
            return usage(
                LlmProvider::OpenAi,
                model(),
                "embedding",
                number(tokens, "prompt_tokens"),
                None,
            );
        }
        if let Some(billed) = tokens.get("billed_units") {
            return cohere(billed);
        }
    }
    if let Some(billed) = response
        .get("meta")
        .and_then(|meta| meta.get("billed_units"))
    {
        return cohere(billed);
    }
    if let Some(tokens) = response.get("usageMetadata") {
        let output = number(tokens, "candidatesTokenCount");
        let input = number(tokens, "promptTokenCount");
        return usage(
            LlmProvider::VertexAi,
            UNKNOWN_MODEL.to_owned(),
            "vertexCompletion",
            input,
            output,
        );
    }
    None
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

fn cohere(billed: &Value) -> Option<TokenUsage> {
    Some(TokenUsage {
        provider: LlmProvider::Cohere,
        model: UNKNOWN_MODEL.to_owned(),
        object: "text".to_owned(),
        input_tokens: billed.get("input_tokens").and_then(Value::as_f64)?,
        output_tokens: billed.get("output_tokens").and_then(Value::as_f64),
    })
}

/// Turns a provider response into `input_tokens` / `output_tokens` records for
/// `customer_id`, with `model`, `object` and `provider` dimensions merged under
/// `dimensions` (the caller's win). An unrecognised response gives no records.
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
    let Some(usage) = token_usage(response) else {
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
            MeterRecord::builder(meter, count, customer_id)
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
    fn unknown_or_malformed_responses_give_no_records_and_bad_customers_an_error() {
        assert!(records(&json!({"choices": []})).is_empty());
        assert!(
            records(&json!({"object": "chat.completion", "usage": {"prompt_tokens": "x"}}))
                .is_empty()
        );
        assert!(records(&json!(null)).is_empty());
        let response = json!({"type": "message", "usage": {"input_tokens": 1}});
        let error = token_records(&response, " ", &BTreeMap::new()).unwrap_err();
        assert_eq!(error.field(), "customer_id");
    }
}
