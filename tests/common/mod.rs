//! Drives the real binary against the simulated API on 127.0.0.1.
#![allow(dead_code)] // each test file uses its own subset of these helpers

pub(crate) mod ci;
pub(crate) mod deploy;
#[cfg(unix)]
pub(crate) mod release;
pub(crate) mod strategies;

use clanforge_sim::{Reply, Script, Sim, SimServer};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const ACCESS_KEY: &str = "AKIA-access-XYZZY";
pub(crate) const SECRET_KEY: &str = "s3cr3t-PLUGH-never-print-me";
/// The Basic header's value for the two keys: base64("ACCESS_KEY:SECRET_KEY").
pub(crate) const BASIC: &str = "QUtJQS1hY2Nlc3MtWFlaWlk6czNjcjN0LVBMVUdILW5ldmVyLXByaW50LW1l";
pub(crate) const UPDATE_ID: &str = "424242";

/// No run of the gate in these tests may take longer than this; a hung gate fails its test.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// The runner's mask commands, the one place a secret may be named: GitHub's and Azure's.
pub(crate) const GITHUB_MASK: &str = "::add-mask::";
pub(crate) const AZURE_MASK: &str = "##vso[task.setsecret]";

/// None of `secrets` is anywhere in `text` (what `what` names) but on the lines of the runner's
/// mask command `mask`.
#[track_caller]
pub(crate) fn assert_never_shown(what: &str, text: &str, secrets: &[&str], mask: &str) {
    for secret in secrets {
        let shown = text.lines().any(|line| !line.starts_with(mask) && line.contains(secret));
        assert!(!shown, "{what}: {secret} shown:\n{text}");
    }
}

/// A simulator that serves image update [`UPDATE_ID`] by these replies and checks the keys.
pub(crate) fn serve(replies: Vec<Reply>) -> SimServer {
    Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .job(UPDATE_ID, Script::Replies(replies))
        .spawn()
        .expect("the simulator starts")
}

/// The binary under test: this build's, or `CLANFORGE_WAIT_BIN` (e.g. an earlier release, to see
/// a regression test fail on the code it was written against).
pub(crate) fn binary() -> std::path::PathBuf {
    std::env::var_os("CLANFORGE_WAIT_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_clanforge-wait").into(), Into::into)
}

/// One run of the gate, configured like a pipeline would, with fast polling. Its files (the
/// result, CI outputs) live in a temporary folder of its own.
pub(crate) struct Gate {
    args: Vec<(String, Option<String>)>,
    envs: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Gate {
    pub(crate) fn new(base_url: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temp folder");
        let mut gate = Self {
            args: Vec::new(),
            envs: vec![
                ("CLANFORGE_ACCESS_KEY".into(), ACCESS_KEY.into()),
                ("CLANFORGE_SECRET_KEY".into(), SECRET_KEY.into()),
            ],
            dir,
        };
        let path = gate.path("result.json");
        for (flag, value) in [
            ("--base-url", base_url),
            ("--update-id", UPDATE_ID),
            ("--asid", "7"),
            ("--interval", "10ms"),
            ("--max-interval", "40ms"),
            ("--timeout", "10s"),
            ("--request-timeout", "2s"),
            ("--result-file", &path),
        ] {
            gate = gate.arg(flag, value);
        }
        gate
    }

    pub(crate) fn against(server: &SimServer) -> Self {
        Self::new(&server.url())
    }

    /// A `--demo` run: no job, no API, no keys; just a result file and a deadline.
    pub(crate) fn demo() -> Self {
        let mut gate = Self::new("http://127.0.0.1:9");
        for flag in ["--base-url", "--update-id", "--asid"] {
            gate = gate.without(flag);
        }
        gate.without_env("CLANFORGE_ACCESS_KEY").without_env("CLANFORGE_SECRET_KEY").flag("--demo")
    }

    /// A file in the run's folder.
    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Runs as a GitHub Actions step would: outputs and summary go to files in the folder.
    pub(crate) fn github(self) -> Self {
        let (output, summary) = (self.path("github_output"), self.path("step_summary"));
        self.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
    }

    /// Every output at once: GitHub's, the dotenv file, `--json` and the result file.
    pub(crate) fn every_output(self) -> Self {
        self.github().dotenv().flag("--json")
    }

    /// Writes a dotenv file, `ci.env`, in the folder.
    pub(crate) fn dotenv(self) -> Self {
        let path = self.path("ci.env");
        self.arg("--dotenv", &path)
    }

    /// Sets a flag with a value, replacing an earlier one.
    pub(crate) fn arg(mut self, flag: &str, value: &str) -> Self {
        self.args.retain(|(f, _)| f != flag);
        self.args.push((flag.into(), Some(value.into())));
        self
    }

    /// Sets a flag without a value.
    pub(crate) fn flag(mut self, flag: &str) -> Self {
        self.args.push((flag.into(), None));
        self
    }

    pub(crate) fn without(mut self, flag: &str) -> Self {
        self.args.retain(|(f, _)| f != flag);
        self
    }

    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.retain(|(n, _)| n != name);
        self.envs.push((name.into(), value.into()));
        self
    }

    pub(crate) fn without_env(mut self, name: &str) -> Self {
        self.envs.retain(|(n, _)| n != name);
        self
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(binary());
        // Deterministic output: no CI, colour or CLANFORGE_* variables but the test's own.
        command.env_clear();
        // Windows sockets need SystemRoot.
        if let Some(root) = std::env::var_os("SystemRoot") {
            command.env("SystemRoot", root);
        }
        for (flag, value) in &self.args {
            command.arg(flag);
            if let Some(value) = value {
                command.arg(value);
            }
        }
        command.envs(self.envs.iter().map(|(n, v)| (n, v)));
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    pub(crate) fn run(self) -> Run {
        self.spawn().finish()
    }

    pub(crate) fn spawn(self) -> Running {
        let started = Instant::now();
        let mut child = self.command().spawn().expect("the gate starts");
        // Drain both pipes as the gate writes, so that a long log can't fill one and stall it.
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
        Running { child, started, gate: self, stdout, stderr }
    }
}

/// A gate still running.
pub(crate) struct Running {
    child: std::process::Child,
    started: Instant,
    gate: Gate,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    /// A file in the run's folder.
    pub(crate) fn path(&self, name: &str) -> String {
        self.gate.path(name)
    }

    /// Sends a signal by name (`TERM`, `INT`) with kill(1).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    pub(crate) fn finish(self) -> Run {
        let (started, mut child) = (self.started, self.child);
        let mut peak_rss_kib = None;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait on the gate") {
                break status;
            }
            // VmHWM is the peak so far; the last sample before exit is the run's peak, give or
            // take the last 2 ms.
            if let Some(kib) = vm_hwm_kib(child.id()) {
                peak_rss_kib = Some(kib);
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the gate ran longer than {RUN_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = started.elapsed();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join().expect("stdout drained"),
            stderr: self.stderr.join().expect("stderr drained"),
            result_text: std::fs::read_to_string(self.gate.path("result.json")).unwrap_or_default(),
            elapsed,
            peak_rss_kib,
            dir: self.gate.dir,
        }
    }
}

/// The process's peak resident set, from /proc (Linux only).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub result_text: String,
    pub elapsed: Duration,
    /// Peak resident set size, sampled while the gate ran (Linux only).
    pub peak_rss_kib: Option<u64>,
    dir: tempfile::TempDir,
}

impl Run {
    /// The result file, parsed.
    pub(crate) fn result(&self) -> Value {
        serde_json::from_str(&self.result_text).unwrap_or_else(|e| {
            panic!("the result file is not JSON ({e}): {:?}\n{self:?}", self.result_text)
        })
    }

    /// A file the gate wrote in its folder; empty if it wrote none.
    /// The result file's `error` key (the run must have written one).
    pub(crate) fn error(&self) -> String {
        self.result()["error"].as_str().expect("the result has an error key").to_owned()
    }

    pub(crate) fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// A path in the run's folder.
    pub(crate) fn dir_path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Everything the gate wrote, for scanning.
    pub(crate) fn all_output(&self) -> String {
        let mut all = format!("{}\n{}\n{}", self.stdout, self.stderr, self.result_text);
        for name in
            ["github_output", "step_summary", "ci.env", "trace.log", "junit.xml", "summary.md"]
        {
            all.push_str(&self.file(name));
        }
        all
    }

    /// The log (stderr) holds `text`.
    #[track_caller]
    pub(crate) fn assert_logged(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "{text:?} is not in the log:\n{}", self.stderr);
        self
    }

    /// The log (stderr) holds `text` exactly once.
    #[track_caller]
    pub(crate) fn assert_logged_once(&self, text: &str) -> &Self {
        let count = self.stderr.matches(text).count();
        assert_eq!(count, 1, "{text:?} is in the log {count} times:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; stderr:\n{}", self.stderr);
        self
    }
}

/// Reads a `$GITHUB_OUTPUT` file by the runner's rules (actions/runner, `SetOutputFileCommand`):
/// lines break at `\n`, `\r\n` or a lone `\r`; `NAME=VALUE` when `=` comes before any `<<`,
/// else `NAME<<DELIMITER` followed by lines up to one equal to the delimiter.
pub(crate) fn read_github_output(text: &str) -> Vec<(String, String)> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = normalized.split('\n').peekable();
    let mut pairs = Vec::new();
    while let Some(line) = lines.next() {
        if line.is_empty() && lines.peek().is_none() {
            break; // the newline that ends the file
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                assert!(e > 0, "an empty name: {line:?}");
                pairs.push((line[..e].to_owned(), line[e + 1..].to_owned()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                assert!(!name.is_empty() && !delimiter.is_empty(), "{line:?}");
                let mut value = Vec::new();
                loop {
                    let next = lines.next().unwrap_or_else(|| panic!("no closing {delimiter}"));
                    if next == delimiter {
                        break;
                    }
                    value.push(next);
                }
                pairs.push((name.to_owned(), value.join("\n")));
            }
            _ => panic!("the runner rejects this line: {line:?}"),
        }
    }
    pairs
}

/// The workflow commands the runner would carry out for this log, by its rules: `::name…::`
/// at the start of a (left-trimmed) line, `##[name…]` anywhere in a line, and nothing while
/// `::stop-commands::TOKEN` is in force, until a line `::TOKEN::`.
pub(crate) fn workflow_commands(log: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut stopped: Option<String> = None;
    for line in log.lines() {
        let trimmed = line.trim_start();
        if let Some(token) = &stopped {
            if trimmed.trim_end() == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("::") {
            if let Some(token) = rest.strip_prefix("stop-commands::") {
                stopped = Some(token.trim_end().to_owned());
            }
            commands.push(line.to_owned());
        } else if line.contains("##[") {
            commands.push(line.to_owned());
        }
    }
    commands
}

/// A job status body, as the API sends it.
pub(crate) fn status(state_id: i64, progress: u8) -> Reply {
    Reply::status(state_id, progress)
}

/// Runs the gate under a pseudo-terminal (util-linux `script`), as act and some CI systems run
/// steps, and returns every byte it wrote there. `then`: shell words run after the gate starts
/// (`$!` is its PID), e.g. `sleep 1; kill -TERM $!`.
#[cfg(target_os = "linux")]
pub(crate) fn on_a_terminal_then(gate: &Gate, then: &str) -> Vec<u8> {
    let command = gate.command();
    let mut line = vec![binary().display().to_string()];
    line.extend(command.get_args().map(|a| format!("'{}'", a.to_string_lossy())));
    let line = match then {
        "" => line.join(" "),
        then => format!("{} & {then}; wait $!", line.join(" ")),
    };
    let mut script = std::process::Command::new("script");
    script
        .args(["-qfec", &line, "/dev/null"])
        .env_clear()
        // A terminal's TERM, unless the test sets its own.
        .env("TERM", "xterm-256color")
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null());
    let output = script.output().expect("script(1) runs");
    output.stdout
}

/// [`on_a_terminal_then`] with nothing after.
#[cfg(target_os = "linux")]
pub(crate) fn on_a_terminal(gate: &Gate) -> Vec<u8> {
    on_a_terminal_then(gate, "")
}

/// None of `secrets` is anywhere in what the gate wrote, but in GitHub's mask commands.
#[track_caller]
pub(crate) fn assert_outputs_hide(run: &Run, secrets: &[&str]) {
    assert_never_shown("the outputs", &run.all_output(), secrets, GITHUB_MASK);
}

/// The suite's API token (the v2 dialect), never to be shown.
pub(crate) const TOKEN: &str = "tok-en-XYZZY-never-print-me";

/// A gate with the token in the environment and no keys.
pub(crate) fn with_token(gate: Gate) -> Gate {
    gate.without_env("CLANFORGE_ACCESS_KEY")
        .without_env("CLANFORGE_SECRET_KEY")
        .env("CLANFORGE_TOKEN", TOKEN)
}

/// A simulator serving these jobs (`KIND/ID`) by these replies.
pub(crate) fn serve_jobs(jobs: &[(&str, Vec<Reply>)]) -> SimServer {
    jobs.iter()
        .fold(Sim::new().credentials(ACCESS_KEY, SECRET_KEY), |sim, (job, replies)| {
            sim.serve_job(job.parse().unwrap(), Script::Replies(replies.clone()))
        })
        .spawn()
        .unwrap()
}

/// A gate on these jobs (and no --update-id).
pub(crate) fn on_jobs(server: &SimServer, jobs: &[&str]) -> Gate {
    jobs.iter().fold(Gate::against(server).without("--update-id"), |gate, job| gate.flag(job))
}
