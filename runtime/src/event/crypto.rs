//! The Encrypt Key's two uses, as Feishu's guide describes them: the AES-256-CBC
//! decryption of an `{"encrypt": …}` body, and the SHA-256 signature of every request;
//! and the SHA-1 signature, over the Verification Token, of the old card request URL.

use std::fmt;

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// The initialisation vector leads the decoded `encrypt` bytes.
const IV_LEN: usize = 16;

/// An app's Encrypt Key, with the AES key derived from it once rather than per request.
pub(crate) struct EncryptKey {
    key: Secret,
    /// SHA-256 of the Encrypt Key's UTF-8 bytes.
    aes_key: [u8; 32],
}

impl EncryptKey {
    pub(crate) fn new(key: Secret) -> Self {
        let aes_key = Sha256::digest(key.expose().as_bytes()).into();
        EncryptKey { key, aes_key }
    }

    /// The plaintext of an `encrypt` field: base64 of a 16-byte IV followed by the
    /// AES-256-CBC ciphertext, PKCS#7-padded. `None` for anything else, without saying
    /// why (see [`WebhookError::Undecryptable`](super::WebhookError::Undecryptable)).
    pub(crate) fn decrypt(&self, encrypt: &str) -> Option<Vec<u8>> {
        let mut iv = STANDARD.decode(encrypt).ok()?;
        if iv.len() < IV_LEN {
            return None;
        }
        let mut data = iv.split_off(IV_LEN);
        let cipher = cbc::Decryptor::<Aes256>::new_from_slices(&self.aes_key, &iv).ok()?;
        // Fails unless the ciphertext is whole blocks ending in valid padding.
        let len = cipher.decrypt_padded::<Pkcs7>(&mut data).ok()?.len();
        data.truncate(len);
        Some(data)
    }

    /// Lowercase hex of SHA-256(timestamp ‖ nonce ‖ Encrypt Key ‖ body), the value of
    /// `X-Lark-Signature`. The body is the raw bytes received, never re-serialized JSON.
    pub(crate) fn signature(&self, timestamp: &str, nonce: &str, body: &[u8]) -> String {
        let digest = Sha256::new()
            .chain_update(timestamp.as_bytes())
            .chain_update(nonce.as_bytes())
            .chain_update(self.key.expose().as_bytes())
            .chain_update(body)
            .finalize();
        hex(&digest)
    }

    /// Whether `signature` (the `X-Lark-Signature` header) signs this request, compared
    /// in constant time so that the answer's timing does not reveal how much of a forged
    /// signature was right. Hex case is not significant.
    pub(crate) fn verify(
        &self,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
        signature: &str,
    ) -> bool {
        let expected = self.signature(timestamp, nonce, body);
        let received = signature.trim().to_ascii_lowercase();
        expected.as_bytes().ct_eq(received.as_bytes()).into()
    }
}

impl fmt::Debug for EncryptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptKey(***)")
    }
}

/// Whether `signature` (the `X-Lark-Signature` header) signs a 1.0 card callback of the old
/// card request URL: lowercase hex of SHA-1(timestamp ‖ nonce ‖ Verification Token ‖ body),
/// as Feishu's SDKs check it, compared in constant time.
pub(crate) fn verify_card_v1(
    token: &Secret,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let digest = sha1::Sha1::new()
        .chain_update(timestamp.as_bytes())
        .chain_update(nonce.as_bytes())
        .chain_update(token.expose().as_bytes())
        .chain_update(body)
        .finalize();
    let received = signature.trim().to_ascii_lowercase();
    hex(&digest).as_bytes().ct_eq(received.as_bytes()).into()
}

/// Whether a verification token received equals the configured one, in constant time.
pub(crate) fn same_token(expected: &Secret, received: &str) -> bool {
    expected
        .expose()
        .as_bytes()
        .ct_eq(received.as_bytes())
        .into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> EncryptKey {
        EncryptKey::new(Secret::new(value))
    }

    /// The example of Feishu's guide (encrypt-key-encryption-configuration-case): every
    /// language's sample decrypts it with the key "test key" to "hello world".
    #[test]
    fn decrypts_the_guides_example() {
        let plain = key("test key")
            .decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
            .expect("the guide's ciphertext decrypts");
        assert_eq!(plain, b"hello world");
    }

    #[test]
    fn refuses_a_wrong_key_and_malformed_ciphertexts() {
        let example = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=";
        // With another key the padding comes out wrong (this key and ciphertext included).
        assert_eq!(key("another key").decrypt(example), None);
        for bad in [
            "",                                     // nothing
            "not base64!",                          // not base64
            "AAAAAAAAAAAAAAAAAAAAAA==",             // an IV and no block
            "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1p", // not whole blocks
        ] {
            assert_eq!(key("test key").decrypt(bad), None, "{bad:?}");
        }
    }

    /// The signature of the guide's recipe, computed independently:
    /// `printf '%s' '1700000000nonce-1test key{"a":1}' | sha256sum`.
    #[test]
    fn signs_timestamp_nonce_key_and_body() {
        let expected = "b2bf74a17de5ee343ea1ac194a5e6c217949cf79dd373326ee27e5a3246b9fb1";
        let key = key("test key");
        let signature = key.signature("1700000000", "nonce-1", br#"{"a":1}"#);
        assert_eq!(signature, expected);
        assert!(key.verify("1700000000", "nonce-1", br#"{"a":1}"#, expected));
        assert!(key.verify(
            "1700000000",
            "nonce-1",
            br#"{"a":1}"#,
            &expected.to_ascii_uppercase()
        ));
        assert!(!key.verify("1700000000", "nonce-1", br#"{"a":2}"#, expected));
        assert!(!key.verify("1700000001", "nonce-1", br#"{"a":1}"#, expected));
        assert!(!key.verify("1700000000", "nonce-1", br#"{"a":1}"#, ""));
    }

    #[test]
    fn compares_tokens_exactly() {
        let token = Secret::new("v-token");
        assert!(same_token(&token, "v-token"));
        assert!(!same_token(&token, "v-token "));
        assert!(!same_token(&token, "v-toke"));
        assert!(!same_token(&token, ""));
    }

    #[test]
    fn debug_shows_no_key() {
        assert_eq!(format!("{:?}", key("test key")), "EncryptKey(***)");
    }
}
