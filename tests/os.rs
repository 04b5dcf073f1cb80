//! Nothing on the OS side can hang the gate, make it panic, or lose an output (issue 25): FIFOs
//! with no reader or writer, inputs that never end, a log that can't be written, SIGHUP, a
//! folder that takes no new file, two outputs on one file, symbolic links.
#![cfg(unix)]

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A FIFO at `path`.
fn mkfifo(path: &str) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// The time from `signal` (or none: the deadline) to the gate's exit, and its run.
fn stopped_by(running: Running, signal: Option<&str>) -> (Duration, Run) {
    std::thread::sleep(Duration::from_millis(400));
    let sent = Instant::now();
    if let Some(signal) = signal {
        running.signal(signal);
    }
    let run = running.finish();
    (sent.elapsed(), run)
}

#[test]
fn an_output_fifo_with_no_reader_is_exit_2_before_any_request() {
    for (flag, env) in [
        ("--result-file", None),
        ("--dotenv", None),
        ("--junit", None),
        ("", Some("GITHUB_OUTPUT")),
    ] {
        let server = serve(vec![status(5, 100)]);
        let gate = Gate::against(&server).arg("--timeout", "5s");
        let fifo = gate.path("fifo");
        mkfifo(&fifo);
        let gate = match env {
            Some(var) => gate.env("GITHUB_ACTIONS", "true").env(var, &fifo),
            None => gate.arg(flag, &fifo),
        };
        let run = gate.run();
        assert_eq!(run.code, 2, "{flag}{env:?}: {}", run.stderr);
        run.assert_logged("a FIFO with no reader");
        assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
        assert_eq!(server.requests().len(), 0);
    }
}

#[test]
fn an_output_fifo_with_a_reader_is_written() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let fifo = gate.path("fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    std::thread::sleep(Duration::from_millis(100));
    let run = gate.arg("--dotenv", &fifo).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(reader.join().unwrap().starts_with("CLANFORGE_RESULT=success\n"));
}

/// A gate whose secret key comes from a FIFO nobody writes to, as
/// `--secret-key-file <(vault read …)` before vault answers.
fn reading_a_fifo(timeout: &str) -> Running {
    let server = serve(vec![status(4, 10)]);
    let gate = Gate::against(&server).without_env("CLANFORGE_SECRET_KEY");
    let fifo = gate.path("key-fifo");
    mkfifo(&fifo);
    // The server is gone by the time the gate could ask: it never gets that far.
    drop(server);
    gate.arg("--secret-key-file", &fifo).arg("--timeout", timeout).every_output().spawn()
}

#[test]
fn an_input_fifo_with_no_writer_ends_at_a_signal_or_the_deadline() {
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let (took, run) = stopped_by(reading_a_fifo("30s"), Some(signal));
        assert_eq!(run.code, code, "SIG{signal}: {}", run.stderr);
        assert!(took < Duration::from_secs(1), "SIG{signal}: {took:?}");
        assert_eq!(run.result()["result"], "cancelled");
        assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=cancelled\n"));
        println!("input FIFO, SIG{signal} to exit: {} ms", took.as_millis());
    }
    let (_, run) = stopped_by(reading_a_fifo("1s"), None);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
    assert_eq!(run.result()["result"], "timeout");
    run.assert_logged("deadline (--timeout) passed while the gate read the files");
    let after = run.elapsed.as_millis().saturating_sub(1000);
    println!("input FIFO, the deadline (1s) to exit: {after} ms");
}

#[test]
fn a_wait_with_an_output_on_a_fifo_ends_at_a_signal_or_the_deadline() {
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("", 3)] {
        let server = serve(vec![status(4, 10)]);
        let gate =
            Gate::against(&server).arg("--timeout", if signal.is_empty() { "1s" } else { "30s" });
        let fifo = gate.path("out-fifo");
        mkfifo(&fifo);
        // A reader that opens the FIFO and never reads: the result still fits in the pipe.
        let _reader =
            std::fs::OpenOptions::new().read(true).custom_flags_nonblocking().open(&fifo).unwrap();
        let running = gate.arg("--dotenv", &fifo).spawn();
        let (took, run) = stopped_by(running, (!signal.is_empty()).then_some(signal));
        assert_eq!(run.code, code, "{signal}: {}", run.stderr);
        let bound = if signal.is_empty() { Duration::from_secs(1) } else { Duration::ZERO };
        assert!(
            run.elapsed < Duration::from_secs(1) + bound + Duration::from_millis(400),
            "{signal}: {:?}",
            run.elapsed
        );
        assert!(took < Duration::from_secs(1) + bound, "{signal}: {took:?}");
        let word = if code == 3 { "timeout" } else { "cancelled" };
        assert_eq!(run.result()["result"], word);
        let (what, after) = match signal {
            "" => ("the deadline (1s)", run.elapsed.as_millis().saturating_sub(1000)),
            _ => (signal, took.as_millis()),
        };
        println!("output FIFO, {what} to exit: {after} ms");
    }
}

/// Opens a FIFO's read end without waiting for a writer.
trait NonBlocking {
    fn custom_flags_nonblocking(&mut self) -> &mut Self;
}

impl NonBlocking for std::fs::OpenOptions {
    fn custom_flags_nonblocking(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(0o4000) // O_NONBLOCK on Linux
    }
}

#[test]
fn an_input_that_never_ends_is_refused_naming_the_flag_and_the_cap() {
    for (args, flag, cap) in [
        (&["--secret-key-file", "/dev/zero"][..], "--secret-key-file", "64 KiB"),
        (&["--token-file", "/dev/zero"], "--token-file", "64 KiB"),
        (&["--ca-cert", "/dev/zero"], "--ca-cert", "1 MiB"),
        (
            &[
                "deploy",
                "--game-id",
                "1",
                "--image-id",
                "2",
                "--machine-id",
                "3",
                "--url-file",
                "/dev/zero",
            ],
            "--url-file",
            "64 KiB",
        ),
        (
            &[
                "deploy",
                "--game-id",
                "1",
                "--image-id",
                "2",
                "--machine-id",
                "3",
                "--resume-from",
                "/dev/zero",
            ],
            "--resume-from",
            "16 MiB",
        ),
    ] {
        let mut gate = Gate::new("http://127.0.0.1:9");
        match flag {
            "--secret-key-file" => gate = gate.without_env("CLANFORGE_SECRET_KEY"),
            "--token-file" => {
                gate = gate.without_env("CLANFORGE_SECRET_KEY").without_env("CLANFORGE_ACCESS_KEY");
            }
            _ => {}
        }
        if args[0] == "deploy" {
            gate = gate.without("--update-id");
        }
        for arg in args {
            gate = gate.flag(arg);
        }
        let run = gate.run();
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        run.assert_logged(flag).assert_logged(&format!("holds more than {cap}"));
        assert!(run.elapsed < Duration::from_secs(2), "{flag}: {:?}", run.elapsed);
    }
}

#[test]
fn a_log_that_cant_be_written_changes_neither_the_exit_code_nor_the_outputs() {
    let server = serve(vec![status(4, 50), status(5, 100)]);
    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
    let gate = Gate::against(&server).every_output();
    let result = gate.path("result.json");
    let mut command = gate.command();
    let output = command.stderr(Stdio::from(full)).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = std::fs::read_to_string(&result).unwrap();
    assert!(text.contains(r#""result": "success""#), "{text}");

    // A closed pipe (`2>&1 | head -1`): every write to it fails.
    let server = serve(vec![status(4, 50), status(5, 100)]);
    let gate = Gate::against(&server);
    let result = gate.path("result.json");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = gate.command().stderr(writer).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(std::fs::read_to_string(&result).unwrap().contains(r#""result": "success""#));
}

#[test]
fn sighup_is_a_cancel_like_sigterm() {
    let server = serve(vec![status(4, 10)]);
    let running = Gate::against(&server).every_output().spawn();
    let (took, run) = stopped_by(running, Some("HUP"));
    assert_eq!(run.code, 129, "{}", run.stderr);
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(run.result()["result"], "cancelled");
    run.assert_logged("SIGHUP");
    assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=cancelled\n"));
    let outputs = read_github_output(&run.file("github_output"));
    assert!(outputs.contains(&("result".into(), "cancelled".into())));
}

// ---- No output is lost or clobbered ----

/// `command` as a user who is not root, where root would pass any permission check.
fn unprivileged(command: Command) -> Command {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n");
    if !root.unwrap_or(false) {
        return command;
    }
    let mut wrapped = Command::new("setpriv");
    wrapped.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    wrapped.arg(command.get_program()).args(command.get_args());
    wrapped.env_clear();
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            wrapped.env(name, value);
        }
    }
    wrapped
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_folder_that_takes_no_new_file_is_exit_2_before_any_request_and_keeps_the_file() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let dir = Path::new(&gate.path("")).to_owned();
    let folder = dir.join("read-only");
    std::fs::create_dir(&folder).unwrap();
    let result = folder.join("result.json");
    std::fs::write(&result, "the earlier run's result").unwrap();
    chmod(&result, 0o666);
    chmod(&folder, 0o555);
    chmod(&dir, 0o755);
    // The gate (and its folder) lives until the run is over.
    let gate = gate.arg("--result-file", result.to_str().unwrap());
    let output = unprivileged(gate.command()).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("takes no new file"), "{stderr}");
    assert_eq!(server.requests().len(), 0);
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "the earlier run's result");
    chmod(&folder, 0o755);
}

#[test]
fn two_outputs_on_one_file_are_exit_2_naming_both_and_lose_nothing() {
    // The result file is $GITHUB_OUTPUT: the earlier steps' outputs stay.
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).github();
    let output = gate.path("github_output");
    std::fs::write(&output, "earlier=kept\n").unwrap();
    let run = gate.arg("--result-file", &output).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.assert_logged("--result-file and $GITHUB_OUTPUT name the same file");
    assert_eq!(server.requests().len(), 0);
    let outputs = read_github_output(&run.file("github_output"));
    assert!(outputs.contains(&("earlier".into(), "kept".into())), "{outputs:?}");

    // The result file and the dotenv file, one through a link.
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let (result, link) = (gate.path("result.json"), gate.path("link.env"));
    std::os::unix::fs::symlink(&result, &link).unwrap();
    let run = gate.arg("--dotenv", &link).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.assert_logged("--result-file and --dotenv name the same file");

    // A trace into the JUnit file.
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let junit = gate.path("junit.xml");
    let run = gate.arg("--junit", &junit).flag(&format!("--trace-http={junit}")).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.assert_logged("--junit and --trace-http name the same file");

    // Resuming from the result file it rewrites is the design.
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let result = gate.path("result.json");
    let run = gate
        .without("--update-id")
        .flag("deploy")
        .arg("--game-id", "1")
        .arg("--image-id", "2")
        .arg("--machine-id", "3")
        .arg("--resume-from", &result)
        .flag("--dry-run")
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_symlinked_output_is_written_through_and_the_link_kept() {
    for target_exists in [false, true] {
        let server = serve(vec![status(5, 100)]);
        let gate = Gate::against(&server);
        let (link, target) = (gate.path("link.json"), gate.path("target.json"));
        if target_exists {
            std::fs::write(&target, "old").unwrap();
        }
        std::os::unix::fs::symlink("target.json", &link).unwrap();
        let run = gate.arg("--result-file", &link).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_symlink(), "the link was replaced");
        let written = std::fs::read_to_string(&target).unwrap();
        assert!(written.contains(r#""result": "success""#), "{written:?}");
    }
}

#[test]
fn the_result_file_and_json_have_variables_too() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).without("--result-file");
    let result = gate.path("result.json");
    let run = gate.env("CLANFORGE_RESULT_FILE", &result).env("CLANFORGE_JSON", "true").run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.result()["result"], "success");
    let printed: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(printed, run.result());
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).env("CLANFORGE_JSON", "false").run();
    assert_eq!(run.stdout, "");
}

#[test]
fn an_unknown_clanforge_variable_is_one_warning_naming_the_closest() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server)
        .env("CLANFORGE_TIMOUT", "1s")
        .env("CLANFORGE_RESULT", "success") // a dotenv key of an earlier job: no warning
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.assert_logged_once("CLANFORGE_TIMOUT is set, but clanforge-wait reads no such variable (did you mean CLANFORGE_TIMEOUT?)");
    assert!(!run.stderr.contains("CLANFORGE_RESULT is set"), "{}", run.stderr);
}

#[test]
fn no_variable_the_projects_files_name_is_warned_of() {
    // Every CLANFORGE_* name the action, the templates, the scripts and the README use: each
    // is the gate's, an output's, or another file's own, and none is warned of.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = std::collections::BTreeSet::new();
    let mut files = vec![root.join("action.yml"), root.join("README.md"), root.join("Dockerfile")];
    for folder in ["ci", "scripts", "dist", "examples", "docs"] {
        let mut stack = vec![root.join(folder)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (at, _) in text.match_indices("CLANFORGE_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.len() > "CLANFORGE_".len() && !name.ends_with('_') {
                names.insert(name);
            }
        }
    }
    assert!(names.len() > 30, "{names:?}");
    let server = serve(vec![status(5, 100)]);
    let mut gate = Gate::against(&server);
    for name in &names {
        // Set, but harmless: an unrelated value would be a usage error, not a warning.
        if !gate.command().get_envs().any(|(n, _)| n == name.as_str()) {
            gate = gate.env(name, "");
        }
    }
    let run = gate.run();
    assert!(!run.stderr.contains("is set, but"), "{}", run.stderr);
}

#[test]
fn completions_and_help_into_a_closed_pipe_do_not_panic() {
    // `clanforge-wait completions bash | head -1`: the reader is gone before the script is.
    for args in [&["completions", "bash"][..], &["--help"], &["deploy", "--help"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(binary())
            .args(args)
            .env_clear()
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
