//! The config file (`[defaults]`, `[destinations.NAME]`, `push --to`), `PULSE_*` variables for
//! every flag, and `pulse config show` / `check`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::support::server::{Reply, TestServer};
use crate::support::{numbered_csv, stderr_of, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// Writes the config file, readable by its owner only unless `mode` says otherwise.
fn config(sandbox: &Sandbox, text: &str, mode: u32) -> PathBuf {
    let path = sandbox.write("pulse.toml", text);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// `pulse config show --json`'s setting for `key`: (value, origin).
fn shown(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)], key: &str) -> (String, String) {
    let out = sandbox
        .pulse()
        .envs(env.iter().copied())
        .args(args)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let setting = json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        .clone();
    (
        setting["value"].as_str().unwrap_or_default().to_string(),
        setting["origin"].as_str().unwrap().to_string(),
    )
}

#[test]
fn config_precedence_flag_over_environment_over_destination_over_defaults_over_built_in() {
    let sandbox = Sandbox::new();
    let path = config(
        &sandbox,
        "[defaults]\nbatch_size = 4\n\n[destinations.crm]\nurl = \"http://127.0.0.1:9/\"\nbatch_size = 3\n",
        0o600,
    );
    let file = path.to_str().unwrap();
    let show = ["config", "show", "--config", file, "--json"];
    let (value, origin) = shown(&sandbox, &["config", "show", "--json"], &[], "batch_size");
    assert_eq!((value.as_str(), origin.as_str()), ("5000", "default"));
    let (value, origin) = shown(&sandbox, &show, &[], "batch_size");
    assert_eq!(value, "4");
    assert_eq!(origin, format!("{file}:2"));
    let to_crm = [&show[..], &["--to", "crm"]].concat();
    let (value, origin) = shown(&sandbox, &to_crm, &[], "batch_size");
    assert_eq!(value, "3");
    assert_eq!(origin, format!("{file}:6"));
    let env = [("PULSE_BATCH_SIZE", "2")];
    let (value, origin) = shown(&sandbox, &to_crm, &env, "batch_size");
    assert_eq!(
        (value.as_str(), origin.as_str()),
        ("2", "environment (PULSE_BATCH_SIZE)")
    );
    let with_flag = [&to_crm[..], &["--", "--batch-size", "1"]].concat();
    let (value, origin) = shown(&sandbox, &with_flag, &env, "batch_size");
    assert_eq!((value.as_str(), origin.as_str()), ("1", "flag"));

    // And a push runs with them: the destination's batch size, then the variable's.
    let server = TestServer::ok();
    let text = format!(
        "[defaults]\nbatch_size = 4\nno_sign = true\n\n[destinations.crm]\nurl = \"{}\"\nbatch_size = 3\n",
        server.url()
    );
    config(&sandbox, &text, 0o600);
    let input = sandbox.write("d.csv", numbered_csv(6));
    let push = |env: &[(&str, &str)]| {
        sandbox
            .pulse()
            .envs(env.iter().copied())
            .args([
                "push",
                input.to_str().unwrap(),
                "--to",
                "crm",
                "--force",
                "--config",
                file,
            ])
            .assert()
            .success();
    };
    push(&[]);
    assert_eq!(server.requests().len(), 2, "two batches of 3");
    push(&[("PULSE_BATCH_SIZE", "6")]);
    assert_eq!(server.requests().len(), 3, "then one batch of 6");
}

#[test]
fn config_secrets_come_from_variables_and_files() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let token = sandbox.write("token", "sentinel-token-from-file\n");
    let text = format!(
        "[destinations.crm]\nurl = \"{}\"\nsecret = \"${{CRM_SECRET}}\"\nauth_header_name = \"Authorization\"\nauth_header_value_file = \"{}\"\n",
        server.url(),
        token.display()
    );
    let path = config(&sandbox, &text, 0o644);
    let input = sandbox.write("d.csv", numbered_csv(2));
    let out = sandbox
        .pulse()
        .env("PULSE_CONFIG", &path)
        .args(["push", input.to_str().unwrap(), "--to", "crm"])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(
        err.contains("${CRM_SECRET}") && err.contains(":3:"),
        "{err}"
    );
    assert_eq!(
        sandbox
            .query::<i64>("SELECT count(*) FROM runs")
            .unwrap_or(0),
        0
    );

    sandbox
        .pulse()
        .env("PULSE_CONFIG", &path)
        .env("CRM_SECRET", SECRET)
        .args(["push", input.to_str().unwrap(), "--to", "crm"])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("sentinel-token-from-file")
    );
    assert!(requests[0].header("webhook-signature").is_some());
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(!options.contains("sentinel-token"), "{options}");
    assert!(options.contains("\"destination\":\"crm\""), "{options}");
}

#[test]
fn config_literal_secret_in_a_file_others_can_read_is_refused() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let text = format!(
        "[destinations.crm]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        server.url()
    );
    let path = config(&sandbox, &text, 0o644);
    let input = sandbox.write("d.csv", numbered_csv(2));
    let push = || {
        let mut command = sandbox.pulse();
        command.args([
            "push",
            input.to_str().unwrap(),
            "--to",
            "crm",
            "--config",
            path.to_str().unwrap(),
        ]);
        command
    };
    let out = push().assert().code(2);
    let err = stderr_of(&out);
    assert!(err.contains(&format!("{}:3:", path.display())), "{err}");
    assert!(
        err.contains("`secret`") && !err.contains("C2FVsBQ"),
        "{err}"
    );
    assert!(server.requests().is_empty());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    push().assert().success();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn config_failed_push_to_a_destination_is_resumed_by_a_bare_resume() {
    let sandbox = Sandbox::new();
    let server = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let text = format!(
        "[defaults]\nretries = 0\n\n[destinations.crm]\nurl = \"{}\"\nsecret = \"${{CRM_SECRET}}\"\nheader = [\"X-Api-Key: ${{CRM_KEY}}\", \"X-Tenant: 7\"]\n",
        server.url()
    );
    let path = config(&sandbox, &text, 0o644);
    let input = sandbox.write("d.csv", numbered_csv(2));
    let env = [
        ("PULSE_CONFIG", path.to_str().unwrap()),
        ("CRM_SECRET", SECRET),
        ("CRM_KEY", "sentinel-api-key"),
        ("PULSE_OUTAGE_COOLDOWN", "0"),
    ];
    sandbox
        .pulse()
        .envs(env)
        .args(["push", input.to_str().unwrap(), "--to", "crm"])
        .assert()
        .code(4);
    sandbox
        .pulse()
        .envs(env)
        .args(["resume"])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let resumed = &requests[1];
    assert_eq!(resumed.header("x-api-key"), Some("sentinel-api-key"));
    assert_eq!(resumed.header("x-tenant"), Some("7"));
    assert!(resumed.header("webhook-signature").is_some());
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivered");
}

#[test]
fn config_show_masks_every_credential() {
    let sandbox = Sandbox::new();
    let text = "[destinations.crm]\n\
        url = \"https://user:sentinel-url-pw@example.com/hook\"\n\
        secret = \"${S}\"\n\
        auth_header_name = \"Authorization\"\n\
        auth_header_value = \"${A}\"\n\
        url_password = \"${P}\"\n\
        header = [\"X-Api-Key: ${K}\", \"Cookie: ${C}\"]\n";
    let path = config(&sandbox, text, 0o644);
    let env = [
        ("PULSE_CONFIG", path.to_str().unwrap()),
        ("S", "whsec_c2VudGluZWwtc2VjcmV0LXNlbnRpbmVs"),
        ("A", "Bearer sentinel-auth"),
        ("P", "sentinel-password"),
        ("K", "sentinel-key"),
        ("C", "sentinel-cookie"),
    ];
    for json in [false, true] {
        let mut args = vec!["config", "show", "--to", "crm"];
        if json {
            args.push("--json");
        }
        let out = sandbox.pulse().envs(env).args(&args).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        for planted in ["sentinel", "c2VudGluZWw"] {
            assert!(!text.contains(planted), "{planted} in {text}");
        }
        assert!(text.contains("X-Api-Key"), "{text}");
    }
}

#[test]
fn config_check_names_line_and_column() {
    let sandbox = Sandbox::new();
    let check = |text: &str| {
        let path = config(&sandbox, text, 0o600);
        let out = sandbox
            .pulse()
            .args(["config", "check", "--config", path.to_str().unwrap()])
            .assert()
            .code(2);
        (path, stderr_of(&out))
    };
    let (path, err) = check("[defaults]\nbatch_sise = 3\n");
    assert!(
        err.contains(&format!("{}:2:1: unknown key `batch_sise`", path.display())),
        "{err}"
    );
    let (_, err) = check("[defaults]\nconcurrency = \"many\"\n");
    assert!(
        err.contains(":2:15: ") && err.contains("--concurrency"),
        "{err}"
    );
    let (_, err) = check("[defaults\n");
    assert!(err.contains(":1:10: not a TOML file"), "{err}");
    let (_, err) = check("[destinations.crm]\nbatch_size = 3\n");
    assert!(err.contains("[destinations.crm] has no url"), "{err}");
    let path = config(&sandbox, "[destinations.crm]\nurl = \"http://h/\"\n", 0o600);
    let out = sandbox.stdout_of(&["config", "check", "--config", path.to_str().unwrap()]);
    assert!(out.contains("ok (destinations: crm)"), "{out}");
}

#[test]
fn config_mistakes_stop_a_push_before_anything_is_staged() {
    let sandbox = Sandbox::new();
    let input = sandbox.write("d.csv", numbered_csv(2));
    let push = |text: &str, to: &str| {
        let path = config(&sandbox, text, 0o600);
        let out = sandbox
            .pulse()
            .args(["push", input.to_str().unwrap(), "--to", to, "--config"])
            .arg(&path)
            .assert()
            .code(2);
        stderr_of(&out)
    };
    let err = push("[destinations.crm]\nurl = \"http://h/\"\n", "erp");
    assert!(
        err.contains("--to erp: no [destinations.erp]") && err.contains("crm"),
        "{err}"
    );
    let err = push("not toml at all", "crm");
    assert!(err.contains("not a TOML file"), "{err}");
    let err = push("[destinations.crm]\nretries = 1\n", "crm");
    assert!(err.contains("has no url"), "{err}");
    assert_eq!(
        sandbox
            .query::<i64>("SELECT count(*) FROM runs")
            .unwrap_or(0),
        0
    );
}

#[test]
fn config_a_flag_on_the_command_line_pairs_with_its_companion_from_the_file() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let text = format!(
        "[destinations.crm]\nurl = \"{}\"\nno_sign = true\nauth_header_value = \"${{CRM_TOKEN}}\"\n",
        server.url()
    );
    let path = config(&sandbox, &text, 0o600);
    let input = sandbox.write("d.csv", numbered_csv(2));
    let push = |name: &str| {
        let mut command = sandbox.pulse();
        command
            .env("PULSE_CONFIG", &path)
            .env("CRM_TOKEN", "sentinel-crm-token")
            .args(["push", input.to_str().unwrap(), "--to", "crm", "--force"])
            .args(["--auth-header-name", name]);
        command
    };
    push("X-Api-Key").assert().success();
    let requests = server.requests();
    assert_eq!(requests[0].header("x-api-key"), Some("sentinel-crm-token"));

    // Without the companion anywhere, the flag is still refused before anything is staged.
    let out = sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .args(["--cert-key", "k.pem", "--no-sign"])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(err.contains("--cert-key needs --cert"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn config_a_broken_file_still_gives_help_and_a_json_error_line_from_pulse_json() {
    let sandbox = Sandbox::new();
    let path = config(&sandbox, "[defaults\nbatch_size = 4\n", 0o600);
    let out = sandbox
        .pulse()
        .env("PULSE_CONFIG", &path)
        .args(["push", "--help"])
        .assert()
        .success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(help.contains("--batch-size"), "{help}");

    let input = sandbox.write("d.csv", numbered_csv(1));
    let out = sandbox
        .pulse()
        .env("PULSE_CONFIG", &path)
        .env("PULSE_JSON", "1")
        .args([
            "push",
            input.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9/",
        ])
        .assert()
        .code(2);
    let line: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(line["status"], "error");
    assert_eq!(line["error"]["exit_code"], 2);
}

#[test]
fn config_an_event_pushed_to_a_destination_is_resent_with_its_credentials_from_the_file() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let text = format!(
        "[destinations.crm]\nurl = \"{}\"\nsecret = \"${{CRM_SECRET}}\"\nheader = [\"X-Api-Key: ${{CRM_KEY}}\"]\n",
        server.url()
    );
    let path = config(&sandbox, &text, 0o644);
    let input = sandbox.write("d.csv", numbered_csv(2));
    let env = [
        ("PULSE_CONFIG", path.to_str().unwrap()),
        ("CRM_SECRET", SECRET),
        ("CRM_KEY", "sentinel-api-key"),
    ];
    sandbox
        .pulse()
        .envs(env)
        .args(["push", input.to_str().unwrap(), "--to", "crm"])
        .assert()
        .success();
    let event: String = sandbox.query("SELECT id FROM events").unwrap();
    sandbox
        .pulse()
        .envs(env)
        .args(["resend", &event])
        .assert()
        .success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let (first, again) = (&requests[0], &requests[1]);
    assert_eq!(first.header("webhook-id"), again.header("webhook-id"));
    assert_eq!(first.body, again.body, "the exact same bytes");
    assert_eq!(again.header("x-api-key"), Some("sentinel-api-key"));
    assert!(again.header("webhook-signature").is_some());

    // Without the destination's variable the resend says which one is missing.
    let out = sandbox
        .pulse()
        .env("PULSE_CONFIG", &path)
        .env("CRM_SECRET", SECRET)
        .args(["resend", &event])
        .assert()
        .code(2);
    let err = stderr_of(&out);
    assert!(err.contains("${CRM_KEY}"), "{err}");
    assert_eq!(server.requests().len(), 2);
}
