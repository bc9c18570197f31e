// The schema module is built ahead of the commands that use it (issue 3, phase 1).
#[allow(dead_code)]
mod json_out;
#[allow(dead_code, unused_imports)]
mod schema;

fn main() {}
