//! The long connection's wire format: every WebSocket message is a protobuf `Frame`
//! (Feishu's `pbbp2.Frame`, proto2), whose headers say what it carries.

use std::time::Duration;

use base64::Engine;
use prost::Message;
use serde::{Deserialize, Serialize};

/// `method` of a control frame: ping and pong.
pub(crate) const METHOD_CONTROL: i32 = 0;
/// `method` of a data frame: an event or a card callback, and its acknowledgement.
pub(crate) const METHOD_DATA: i32 = 1;

/// The header with the frame's kind: [`TYPE_EVENT`], [`TYPE_CARD`], [`TYPE_PING`],
/// [`TYPE_PONG`].
pub(crate) const HEADER_TYPE: &str = "type";
/// The header with the id of the message a frame is (a part of).
pub(crate) const HEADER_MESSAGE_ID: &str = "message_id";
/// The header with the number of parts of a split message (1 when unsplit).
pub(crate) const HEADER_SUM: &str = "sum";
/// The header with a part's index, from 0.
pub(crate) const HEADER_SEQ: &str = "seq";
/// The header with the trace id Feishu gives a message.
pub(crate) const HEADER_TRACE_ID: &str = "trace_id";
/// The header the acknowledgement adds: how long the handler took, in milliseconds.
pub(crate) const HEADER_BIZ_RT: &str = "biz_rt";

/// A data frame with an event.
pub(crate) const TYPE_EVENT: &str = "event";
/// A data frame with a card callback.
pub(crate) const TYPE_CARD: &str = "card";
/// The client's keep-alive.
pub(crate) const TYPE_PING: &str = "ping";
/// The server's answer to a ping, possibly with a [`ClientConfig`].
pub(crate) const TYPE_PONG: &str = "pong";

/// One frame. The four first fields are `required` in Feishu's proto2 schema, so they are
/// always encoded, zero or not.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub(crate) seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub(crate) log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub(crate) service: i32,
    #[prost(int32, required, tag = "4")]
    pub(crate) method: i32,
    #[prost(message, repeated, tag = "5")]
    pub(crate) headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    pub(crate) payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub(crate) payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub(crate) payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    pub(crate) log_id_new: Option<String>,
}

/// A frame header.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct Header {
    #[prost(string, required, tag = "1")]
    pub(crate) key: String,
    #[prost(string, required, tag = "2")]
    pub(crate) value: String,
}

impl Frame {
    /// The client's ping, for the service the connection URL names.
    pub(crate) fn ping(service: i32) -> Frame {
        Frame {
            service,
            method: METHOD_CONTROL,
            headers: vec![Header::new(HEADER_TYPE, TYPE_PING)],
            ..Frame::default()
        }
    }

    /// The first value of header `key`.
    pub(crate) fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.key == key)
            .map(|header| header.value.as_str())
    }

    /// A header's value as a number; `None` when absent or not a number.
    pub(crate) fn header_number(&self, key: &str) -> Option<usize> {
        self.header(key)?.trim().parse().ok()
    }

    /// This data frame turned into its acknowledgement: the same frame, with the handler's
    /// time in `biz_rt` and `answer` as the payload.
    pub(crate) fn into_ack(mut self, answer: &Ack, took: Duration) -> Frame {
        let millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.headers
            .push(Header::new(HEADER_BIZ_RT, &millis.to_string()));
        self.payload = Some(answer.to_json());
        self
    }

    /// The frame's protobuf bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Reads a frame; fails on bytes that are not one.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Frame, prost::DecodeError> {
        Frame::decode(bytes)
    }
}

impl Header {
    pub(crate) fn new(key: &str, value: &str) -> Header {
        Header {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// The payload of an acknowledgement: `{"code": 200, "headers": {}, "data": <base64 or null>}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ack {
    /// 200 when the handler succeeded, 500 otherwise.
    pub(crate) code: u16,
    /// The card callback's answer body, for a card callback.
    pub(crate) data: Option<Vec<u8>>,
}

impl Ack {
    fn to_json(&self) -> Vec<u8> {
        let data = self
            .data
            .as_ref()
            .map(|data| base64::engine::general_purpose::STANDARD.encode(data));
        let body = serde_json::json!({ "code": self.code, "headers": {}, "data": data });
        body.to_string().into_bytes()
    }
}

/// The settings Feishu hands the client, with the endpoint and in pongs, in seconds.
/// Absent or non-positive fields leave the current setting alone (`ReconnectCount` -1:
/// reconnect forever).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ClientConfig {
    #[serde(rename = "ReconnectCount", skip_serializing_if = "Option::is_none")]
    pub(crate) reconnect_count: Option<i64>,
    #[serde(rename = "ReconnectInterval", skip_serializing_if = "Option::is_none")]
    pub(crate) reconnect_interval: Option<i64>,
    #[serde(rename = "ReconnectNonce", skip_serializing_if = "Option::is_none")]
    pub(crate) reconnect_nonce: Option<i64>,
    #[serde(rename = "PingInterval", skip_serializing_if = "Option::is_none")]
    pub(crate) ping_interval: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A varint, by hand.
    fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    /// A length-delimited field, by hand.
    fn bytes_field(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(tag << 3) | 2];
        out.extend(varint(bytes.len() as u64));
        out.extend(bytes);
        out
    }

    #[test]
    fn decodes_a_frame_built_by_hand_from_the_wire_format() {
        let mut header = bytes_field(1, b"type");
        header.extend(bytes_field(2, b"event"));
        let mut wire = vec![0x08]; // 1 SeqID, varint
        wire.extend(varint(300));
        wire.push(0x10); // 2 LogID
        wire.extend(varint(7));
        wire.push(0x18); // 3 service
        wire.extend(varint(42));
        wire.push(0x20); // 4 method
        wire.extend(varint(1));
        wire.extend(bytes_field(5, &header));
        wire.extend(bytes_field(8, b"{}"));
        wire.extend(bytes_field(9, b"log-1"));
        let frame = Frame::from_bytes(&wire).expect("decodes");
        assert_eq!(
            frame,
            Frame {
                seq_id: 300,
                log_id: 7,
                service: 42,
                method: METHOD_DATA,
                headers: vec![Header::new("type", "event")],
                payload: Some(b"{}".to_vec()),
                log_id_new: Some("log-1".to_owned()),
                ..Frame::default()
            }
        );
        assert_eq!(frame.to_bytes(), wire, "encodes to the same bytes");
    }

    #[test]
    fn a_ping_encodes_its_required_zero_fields() {
        let wire = Frame::ping(0).to_bytes();
        let mut header = bytes_field(1, b"type");
        header.extend(bytes_field(2, b"ping"));
        let mut expected = vec![0x08, 0, 0x10, 0, 0x18, 0, 0x20, 0];
        expected.extend(bytes_field(5, &header));
        assert_eq!(wire, expected);
    }

    #[test]
    fn round_trips_and_refuses_garbage() {
        let frame = Frame {
            seq_id: u64::MAX,
            log_id: 1,
            service: -3,
            method: METHOD_DATA,
            headers: vec![Header::new("sum", "2"), Header::new("seq", "1")],
            payload_encoding: Some(String::new()),
            payload_type: Some("json".to_owned()),
            payload: Some(vec![0, 255, 1]),
            log_id_new: None,
        };
        assert_eq!(Frame::from_bytes(&frame.to_bytes()).unwrap(), frame);
        assert_eq!(frame.header_number("sum"), Some(2));
        assert!(Frame::from_bytes(&[0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn an_ack_adds_biz_rt_and_its_json_payload() {
        let frame = Frame {
            method: METHOD_DATA,
            headers: vec![Header::new("type", "card")],
            payload: Some(b"event".to_vec()),
            ..Frame::default()
        };
        let ack = Ack {
            code: 200,
            data: Some(b"{\"toast\":1}".to_vec()),
        };
        let acked = frame.into_ack(&ack, Duration::from_millis(12));
        assert_eq!(acked.header(HEADER_BIZ_RT), Some("12"));
        let payload: serde_json::Value = serde_json::from_slice(acked.payload()).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({"code": 200, "headers": {}, "data": "eyJ0b2FzdCI6MX0="})
        );
        let plain = Ack {
            code: 500,
            data: None,
        };
        let json: serde_json::Value = serde_json::from_slice(&plain.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": 500, "headers": {}, "data": null})
        );
    }
}
