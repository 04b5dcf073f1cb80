//! Drives the real binary against the simulated API on 127.0.0.1.
#![allow(dead_code)] // each test file uses its own subset of these helpers

use clanforge_wait::sim::{Reply, Script, Sim, SimServer};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "AKIA-access-XYZZY";
pub const SECRET_KEY: &str = "s3cr3t-PLUGH-never-print-me";
pub const UPDATE_ID: &str = "424242";

/// No run of the gate in these tests may take longer than this; a hung gate fails its test.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// A simulator that serves image update [`UPDATE_ID`] by these replies and checks the keys.
pub fn serve(replies: Vec<Reply>) -> SimServer {
    Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .job(UPDATE_ID, Script::Replies(replies))
        .spawn()
        .expect("the simulator starts")
}

/// One run of the gate, configured like a pipeline would, with fast polling.
pub struct Gate {
    args: Vec<(String, Option<String>)>,
    envs: Vec<(String, String)>,
    result_file: tempfile::NamedTempFile,
}

impl Gate {
    pub fn new(base_url: &str) -> Self {
        let result_file = tempfile::NamedTempFile::new().expect("a temp file");
        let mut gate = Self {
            args: Vec::new(),
            envs: vec![
                ("CLANFORGE_ACCESS_KEY".into(), ACCESS_KEY.into()),
                ("CLANFORGE_SECRET_KEY".into(), SECRET_KEY.into()),
            ],
            result_file,
        };
        let path = gate.result_file.path().display().to_string();
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

    pub fn against(server: &SimServer) -> Self {
        Self::new(&server.url())
    }

    /// Sets a flag with a value, replacing an earlier one.
    pub fn arg(mut self, flag: &str, value: &str) -> Self {
        self.args.retain(|(f, _)| f != flag);
        self.args.push((flag.into(), Some(value.into())));
        self
    }

    /// Sets a flag without a value.
    pub fn flag(mut self, flag: &str) -> Self {
        self.args.push((flag.into(), None));
        self
    }

    pub fn without(mut self, flag: &str) -> Self {
        self.args.retain(|(f, _)| f != flag);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.retain(|(n, _)| n != name);
        self.envs.push((name.into(), value.into()));
        self
    }

    pub fn without_env(mut self, name: &str) -> Self {
        self.envs.retain(|(n, _)| n != name);
        self
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clanforge-wait"));
        // Deterministic output: no CI, colour or CLANFORGE_* variables but the test's own.
        command.env_clear();
        for (flag, value) in &self.args {
            command.arg(flag);
            if let Some(value) = value {
                command.arg(value);
            }
        }
        command.envs(self.envs.iter().map(|(n, v)| (n, v)));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    pub fn run(self) -> Run {
        let started = Instant::now();
        let mut child = self.command().spawn().expect("the gate starts");
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait on the gate") {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                panic!("the gate ran longer than {RUN_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let output = child.wait_with_output().expect("the gate's output");
        let result_path = self.result_file.path().to_path_buf();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            result_text: std::fs::read_to_string(&result_path).unwrap_or_default(),
            elapsed,
            result_path,
            _result_file: self.result_file,
        }
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub result_text: String,
    pub elapsed: Duration,
    pub result_path: PathBuf,
    _result_file: tempfile::NamedTempFile,
}

impl Run {
    /// The result file, parsed.
    pub fn result(&self) -> Value {
        serde_json::from_str(&self.result_text).unwrap_or_else(|e| {
            panic!(
                "the result file is not JSON ({e}): {:?}\n{self:?}",
                self.result_text
            )
        })
    }

    /// Everything the gate wrote, for scanning.
    pub fn all_output(&self) -> String {
        format!("{}\n{}\n{}", self.stdout, self.stderr, self.result_text)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; stderr:\n{}", self.stderr);
        self
    }
}

/// A job status body, as the API sends it.
pub fn status(state_id: i64, progress: u8) -> Reply {
    Reply::status(state_id, progress)
}
