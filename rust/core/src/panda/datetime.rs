//! Datetimes as the PanDA server encodes them: `{"__datetime__": "<ISO 8601>"}`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A server timestamp, kept as the ISO 8601 text the server sent (naive UTC).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PandaTime(pub String);

impl PandaTime {
    /// The ISO 8601 text, such as `2026-12-03T16:00:00.123456`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PandaTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Older servers and some fields send a plain string; accept both forms.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Tagged {
                #[serde(rename = "__datetime__")]
                datetime: String,
            },
            Plain(String),
        }
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Tagged { datetime } | Wire::Plain(datetime) => Self(datetime),
        })
    }
}

impl Serialize for PandaTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({ "__datetime__": self.0 }).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_encodings_and_writes_the_tagged_one() {
        let tagged: PandaTime =
            serde_json::from_str(r#"{"__datetime__": "2026-12-03T16:00:00"}"#).unwrap();
        let plain: PandaTime = serde_json::from_str(r#""2026-12-03T16:00:00""#).unwrap();
        assert_eq!(tagged, plain);
        assert_eq!(
            serde_json::to_string(&tagged).unwrap(),
            r#"{"__datetime__":"2026-12-03T16:00:00"}"#
        );
    }
}
