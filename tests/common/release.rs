//! A release server on 127.0.0.1: the files of a folder, as GitHub serves a release's assets.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// The archive a Linux x86_64 runner installs.
pub(crate) const LINUX_ARCHIVE: &str = "clanforge-wait-x86_64-unknown-linux-musl.tar.gz";

/// Serves the files under `dir` at their paths (`/v1.2.3/archive.tar.gz`), 404 for anything
/// else, until the test ends; the server's URL. The files are read when it starts, so `dir` may
/// go as soon as this returns (and two test processes never share one).
pub(crate) fn serve_files(dir: &Path) -> String {
    let mut files = BTreeMap::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                files.insert(format!("/{name}"), std::fs::read(&path).unwrap());
            }
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/");
            let (status, body) = match files.get(path) {
                Some(body) => ("200 OK", body.as_slice()),
                None => ("404 Not Found", &b"not found"[..]),
            };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    url
}

/// Packs `binary` as `clanforge-wait` into `archive` (a path), as the release workflow does;
/// the archive's SHA-256.
pub(crate) fn pack(binary: &Path, archive: &Path) -> String {
    let stage = tempfile::tempdir().unwrap();
    std::fs::copy(binary, stage.path().join("clanforge-wait")).unwrap();
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    // gzip's fastest level: a debug build is large, and the archive only has to be a gzip tar.
    run(Command::new("sh")
        .args(["-c", "tar -cf - -C \"$1\" clanforge-wait | gzip -1 > \"$2\"", "pack"])
        .arg(stage.path())
        .arg(archive));
    let out = run(Command::new("sha256sum").arg(archive));
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

pub(crate) fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}
