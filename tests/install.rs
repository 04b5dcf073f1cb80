//! The action's install script (scripts/install.sh) against a release server on 127.0.0.1.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

const TARGET: &str = "x86_64-unknown-linux-musl";

/// Serves files from `dir` at `/<name>` (404 for anything else) until the test ends.
fn serve(dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let name = request_line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let file = std::fs::read(dir.join(name))
                .ok()
                .filter(|_| !name.contains('/'));
            let (status, body) = match file {
                Some(body) => ("200 OK", body),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    url
}

struct Release {
    dir: tempfile::TempDir,
    url: String,
}

/// A release folder holding an archive of a stand-in binary and, unless `checksum` says
/// otherwise, its true SHA-256.
fn release(checksum: Option<&str>) -> Release {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join("stage");
    std::fs::create_dir(&stage).unwrap();
    let binary = stage.join("clanforge-wait");
    std::fs::write(&binary, "#!/bin/sh\necho clanforge-wait 9.9.9\n").unwrap();
    run(Command::new("chmod").args(["+x"]).arg(&binary));
    let archive = format!("clanforge-wait-{TARGET}.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(dir.path().join(&archive))
        .arg("-C")
        .arg(&stage)
        .arg("clanforge-wait"));
    let sum = match checksum {
        Some(sum) => sum.to_owned(),
        None => {
            let out = run(Command::new("sha256sum").arg(dir.path().join(&archive)));
            String::from_utf8(out.stdout)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        }
    };
    std::fs::write(
        dir.path().join(format!("{archive}.sha256")),
        format!("{sum}  {archive}\n"),
    )
    .unwrap();
    let url = serve(dir.path());
    Release { dir, url }
}

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the install script as the action would on a Linux x64 runner, tagged `ref_`.
fn install(release: &Release, ref_: &str) -> (Output, std::path::PathBuf) {
    let root = release.dir.path().join("install");
    let fake_cargo = release.dir.path().join("cargo");
    std::fs::write(
        &fake_cargo,
        "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/cargo-called\"\n",
    )
    .unwrap();
    run(Command::new("chmod").args(["+x"]).arg(&fake_cargo));
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("ACTION_REPOSITORY", "example/clanforge-wait")
        .env("ACTION_REF", ref_)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("CLANFORGE_WAIT_DOWNLOAD_BASE", &release.url)
        .env("CLANFORGE_WAIT_INSTALL_DIR", &root)
        .env("GITHUB_PATH", release.dir.path().join("github_path"))
        .env("CARGO", &fake_cargo)
        .output()
        .unwrap();
    (out, root)
}

#[test]
fn installs_the_release_binary_when_its_checksum_matches() {
    let release = release(None);
    let (out, root) = install(&release, "v9.9.9");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = run(&mut Command::new(root.join("bin/clanforge-wait")));
    assert_eq!(
        String::from_utf8_lossy(&installed.stdout),
        "clanforge-wait 9.9.9\n"
    );
    let path = std::fs::read_to_string(release.dir.path().join("github_path")).unwrap();
    assert_eq!(path.trim(), root.join("bin").display().to_string());
    assert!(!release.dir.path().join("cargo-called").exists());
}

#[test]
fn a_checksum_mismatch_fails_the_step_and_installs_nothing() {
    let release = release(Some(&"0".repeat(64)));
    let (out, root) = install(&release, "v9.9.9");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
    assert!(!root.join("bin/clanforge-wait").exists());
    assert!(!release.dir.path().join("github_path").exists());
    assert!(
        !release.dir.path().join("cargo-called").exists(),
        "no fallback on a mismatch"
    );
}

#[test]
fn a_missing_checksum_file_fails_the_step() {
    let release = release(None);
    std::fs::remove_file(
        release
            .dir
            .path()
            .join(format!("clanforge-wait-{TARGET}.tar.gz.sha256")),
    )
    .unwrap();
    let (out, root) = install(&release, "v9.9.9");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing an unverified binary"));
    assert!(!root.join("bin/clanforge-wait").exists());
}

#[test]
fn a_ref_without_a_release_builds_from_source() {
    let release = release(None);
    std::fs::remove_file(
        release
            .dir
            .path()
            .join(format!("clanforge-wait-{TARGET}.tar.gz")),
    )
    .unwrap();
    let (out, root) = install(&release, "main");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let called = std::fs::read_to_string(release.dir.path().join("cargo-called")).unwrap();
    assert!(
        called.starts_with("install --locked --quiet --path "),
        "{called}"
    );
    assert!(
        called.contains(&format!("--root {}", root.display())),
        "{called}"
    );
}
