//! The `{"success": bool, "message": str, "data": ...}` envelope of every `/api/v1` answer.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::PandaError;

/// One decoded answer of the PanDA server.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// Whether the call did what was asked.
    pub success: bool,
    /// The server's explanation; for a submission it names the `jediTaskID`.
    #[serde(default)]
    pub message: String,
    /// The result, or the return code of a refused command.
    #[serde(default)]
    pub data: Value,
}

impl Envelope {
    /// Decodes an answer body; a body that is not the JSON envelope is a decode error
    /// (the server sends a Python `repr` when the request did not ask for JSON).
    pub fn parse(call: &'static str, body: &[u8]) -> Result<Self, PandaError> {
        serde_json::from_slice(body).map_err(|e| PandaError::Decode {
            call,
            message: format!("{e}: {}", preview(body)),
        })
    }

    /// The return code carried in `data` by command and submission answers.
    pub fn code(&self) -> Option<i64> {
        self.data.as_i64()
    }

    /// The data of a successful answer as `T`; `success: false` becomes a typed refusal.
    pub fn into_data<T: DeserializeOwned>(self, call: &'static str) -> Result<T, PandaError> {
        if !self.success {
            let code = self.code();
            return Err(PandaError::refused(call, self.message, code));
        }
        serde_json::from_value(self.data).map_err(|e| PandaError::Decode {
            call,
            message: format!("data does not match the expected shape: {e}"),
        })
    }
}

/// The start of a body, for error messages about answers that are not JSON.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut shown: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        shown.push_str("...");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, ServiceError};

    #[test]
    fn success_yields_typed_data() {
        let envelope = Envelope::parse(
            "task/get_status",
            br#"{"success": true, "message": "", "data": "running"}"#,
        )
        .unwrap();
        let status: String = envelope.into_data("task/get_status").unwrap();
        assert_eq!(status, "running");
    }

    #[test]
    fn failure_keeps_message_and_code() {
        let body = br#"{"success": false, "message": "jediTaskID=5 not found", "data": 2}"#;
        let error = Envelope::parse("task/kill", body)
            .unwrap()
            .into_data::<Value>("task/kill")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(
            error.to_string().contains("jediTaskID=5 not found"),
            "{error}"
        );
        assert!(matches!(error, PandaError::Refused { code: Some(2), .. }));
    }

    #[test]
    fn a_python_repr_is_a_decode_error() {
        let error =
            Envelope::parse("task/get_status", b"{'success': True, 'data': 'done'}").unwrap_err();
        assert!(matches!(error, PandaError::Decode { .. }), "{error:?}");
        assert!(error.to_string().contains("'success'"), "{error}");
    }
}
