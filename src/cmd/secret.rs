//! `pulse secret new`: a fresh Standard Webhooks signing secret.

use crate::sign::SigningKey;

pub fn new() {
    let (_, text) = SigningKey::generate();
    println!("{text}");
}
