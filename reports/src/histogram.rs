//! HDR histograms (V2 + deflate, base64) for the `histogram` field of a measurement.
//!
//! Three significant digits, as HdrHistogram's own tools default to: a p99.9 of 1.234 ms
//! is kept to the microsecond.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    #[error("cannot build an HDR histogram: {0}")]
    Create(String),
    #[error("value {value} cannot be recorded in an HDR histogram: {reason}")]
    Record { value: f64, reason: String },
    #[error("cannot serialize the HDR histogram: {0}")]
    Serialize(String),
    #[error("histogram field is not valid base64 of a V2 HDR histogram: {0}")]
    Decode(String),
}

/// Encode whole-number samples (negative values are clamped to 0, fractions rounded).
pub fn encode(samples: &[f64]) -> Result<String, HistogramError> {
    let mut h = Histogram::<u64>::new(3).map_err(|e| HistogramError::Create(e.to_string()))?;
    for &v in samples {
        let x = if v.is_finite() && v > 0.0 {
            v.round() as u64
        } else {
            0
        };
        h.record(x).map_err(|e| HistogramError::Record {
            value: v,
            reason: e.to_string(),
        })?;
    }
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(&h, &mut buf)
        .map_err(|e| HistogramError::Serialize(format!("{e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

/// Decode a `histogram` field.
pub fn decode(b64: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| HistogramError::Decode(e.to_string()))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HistogramError::Decode(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_keeps_quantiles() {
        let samples: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 1000.0).collect();
        let enc = super::encode(&samples).expect("encode");
        let h = super::decode(&enc).expect("decode");
        assert_eq!(h.len(), 1000);
        let p50 = h.value_at_quantile(0.5) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.002, "p50 {p50}");
    }
}
