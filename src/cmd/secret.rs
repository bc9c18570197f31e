//! `pulse secret new`: a fresh Standard Webhooks signing secret.

use crate::sign::SigningSecret;

pub fn new() {
    let (_, text) = SigningSecret::generate();
    println!("{text}");
}
