//! The action's install script (scripts/install.sh) against a release server on 127.0.0.1.
#![cfg(unix)]

mod common;

use common::release::{run, serve_files};
use std::path::Path;
use std::process::{Command, Output};

const TARGET: &str = "x86_64-unknown-linux-musl";

struct Release {
    dir: tempfile::TempDir,
    url: String,
    /// The SHA-256 of the genuine archive: what the action's source pins.
    genuine: String,
}

/// A release folder holding an archive of a stand-in binary and its `.sha256`. `tampered`:
/// the archive was replaced after the release, and its `.sha256` with it, to match.
fn release(tampered: bool) -> Release {
    let dir = tempfile::tempdir().unwrap();
    let archive = format!("clanforge-wait-{TARGET}.tar.gz");
    let genuine = pack(dir.path(), "clanforge-wait 9.9.9", &archive);
    if tampered {
        pack(dir.path(), "pwned", &archive);
    }
    let url = serve_files(dir.path());
    Release { dir, url, genuine }
}

/// Packs a stand-in binary that prints `says` as `archive` in `dir`, with its true `.sha256`;
/// returns that SHA-256.
fn pack(dir: &Path, says: &str, archive: &str) -> String {
    let stage = tempfile::tempdir().unwrap();
    let binary = stage.path().join("clanforge-wait");
    std::fs::write(&binary, format!("#!/bin/sh\necho {says}\n")).unwrap();
    run(Command::new("chmod").args(["+x"]).arg(&binary));
    let sum = common::release::pack(&binary, &dir.join(archive));
    std::fs::write(dir.join(format!("{archive}.sha256")), format!("{sum}  {archive}\n")).unwrap();
    sum
}

/// Runs the install script as the action would on a Linux x64 runner, tagged `ref_`, from an
/// action source that pins `pinned` for the archive (nothing, for `None`).
fn install(release: &Release, ref_: &str, pinned: Option<&str>) -> (Output, std::path::PathBuf) {
    let root = release.dir.path().join("install");
    let action = release.dir.path().join("action");
    std::fs::create_dir_all(action.join("dist")).unwrap();
    let line =
        pinned.map(|sum| format!("{sum}  clanforge-wait-{TARGET}.tar.gz\n")).unwrap_or_default();
    std::fs::write(action.join("dist/checksums.txt"), format!("# pinned\n{line}")).unwrap();
    let fake_cargo = release.dir.path().join("cargo");
    std::fs::write(&fake_cargo, "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/cargo-called\"\n")
        .unwrap();
    run(Command::new("chmod").args(["+x"]).arg(&fake_cargo));
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("ACTION_REPOSITORY", "example/clanforge-wait")
        .env("ACTION_REF", ref_)
        .env("GITHUB_ACTION_PATH", &action)
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
fn installs_the_release_binary_when_it_matches_the_pinned_checksum() {
    let release = release(false);
    let (out, root) = install(&release, "v9.9.9", Some(&release.genuine));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed = run(&mut Command::new(root.join("bin/clanforge-wait")));
    assert_eq!(String::from_utf8_lossy(&installed.stdout), "clanforge-wait 9.9.9\n");
    let path = std::fs::read_to_string(release.dir.path().join("github_path")).unwrap();
    assert_eq!(path.trim(), root.join("bin").display().to_string());
    assert!(!release.dir.path().join("cargo-called").exists());
}

#[test]
fn a_tampered_archive_fails_even_when_its_published_checksum_was_tampered_to_match() {
    let release = release(true);
    let (out, root) = install(&release, "v9.9.9", Some(&release.genuine));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(stderr.contains(&release.genuine), "{stderr}");
    assert!(!root.join("bin/clanforge-wait").exists());
    assert!(!release.dir.path().join("github_path").exists());
    assert!(!release.dir.path().join("cargo-called").exists(), "no fallback on a mismatch");
}

#[test]
fn a_release_the_action_pins_no_checksum_for_is_never_downloaded() {
    let release = release(false);
    let (out, root) = install(&release, "v9.9.9", None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no SHA-256 for"));
    let called = std::fs::read_to_string(release.dir.path().join("cargo-called")).unwrap();
    assert!(called.starts_with("install --locked --quiet --path "), "{called}");
    assert!(!root.join("bin/clanforge-wait").exists());
}

#[test]
fn a_ref_without_a_release_builds_from_source() {
    // A release server with nothing under this ref: the pinned archive is a 404.
    let dir = tempfile::tempdir().unwrap();
    let url = serve_files(dir.path());
    let release = Release { dir, url, genuine: "a".repeat(64) };
    let (out, root) = install(&release, "main", Some(&release.genuine));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let called = std::fs::read_to_string(release.dir.path().join("cargo-called")).unwrap();
    assert!(called.starts_with("install --locked --quiet --path "), "{called}");
    assert!(called.contains(&format!("--root {}", root.display())), "{called}");
}

/// The release process's pin script, on a copy of the files it edits.
fn pin(sums: &str) -> (Output, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    for file in [
        "scripts/pin-release.sh",
        "dist/checksums.txt",
        "Cargo.toml",
        "ci/gitlab/clanforge-wait.yml",
        "ci/jenkins/Jenkinsfile",
        "ci/teamcity/settings.kts",
        "ci/azure/azure-pipelines.yml",
        "ci/buildkite/pipeline.yml",
    ] {
        let to = root.path().join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(file), to).unwrap();
    }
    std::fs::write(root.path().join("sums.txt"), sums).unwrap();
    let out = Command::new("bash")
        .arg(root.path().join("scripts/pin-release.sh"))
        .args(["v1.2.3", "acme/clanforge-wait"])
        .arg(root.path().join("sums.txt"))
        .output()
        .unwrap();
    (out, root)
}

#[test]
fn a_release_pins_its_checksums_for_the_action_and_the_gitlab_template() {
    let (x64, arm) = ("a".repeat(64), "b".repeat(64));
    let sums = format!(
        "{x64}  clanforge-wait-x86_64-unknown-linux-musl.tar.gz\n\
         {arm} *clanforge-wait-aarch64-unknown-linux-musl.tar.gz\n\
         {}  clanforge-wait-x86_64-apple-darwin.tar.gz\n",
        "c".repeat(64)
    );
    let (out, root) = pin(&sums);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pinned = std::fs::read_to_string(root.path().join("dist/checksums.txt")).unwrap();
    assert!(pinned.starts_with('#'), "the explanation stays: {pinned}");
    assert_eq!(pinned.lines().filter(|l| !l.starts_with('#')).count(), 3);
    assert!(pinned.contains(&format!("{x64}  clanforge-wait-x86_64-unknown-linux-musl.tar.gz")));
    let template =
        std::fs::read_to_string(root.path().join("ci/gitlab/clanforge-wait.yml")).unwrap();
    for line in [
        "    CLANFORGE_WAIT_VERSION: v1.2.3\n".to_owned(),
        "    CLANFORGE_WAIT_REPOSITORY: acme/clanforge-wait\n".to_owned(),
        format!("    CLANFORGE_WAIT_SHA256_X86_64: \"{x64}\"\n"),
        format!("    CLANFORGE_WAIT_SHA256_AARCH64: \"{arm}\"\n"),
    ] {
        assert!(template.contains(&line), "{line} in\n{template}");
    }
    assert!(!template.contains("OWNER"), "the owner is named in one place: {template}");
    // A list without the Linux archives is refused, and changes nothing.
    let (out, _) = pin(&format!("{x64}  clanforge-wait-x86_64-apple-darwin.tar.gz\n"));
    assert!(!out.status.success());
}

/// The other CIs' examples pin the version, the repository and the Linux x86_64 archive, each
/// in its own quoting, and keep their install lines as they were.
#[test]
fn a_release_pins_the_other_cis_examples_too() {
    let x64 = "a".repeat(64);
    let sums = format!(
        "{x64}  clanforge-wait-x86_64-unknown-linux-musl.tar.gz\n\
         {}  clanforge-wait-aarch64-unknown-linux-musl.tar.gz\n",
        "b".repeat(64)
    );
    let (out, root) = pin(&sums);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (file, lines) in [
        (
            "ci/jenkins/Jenkinsfile",
            [
                "CLANFORGE_WAIT_VERSION    = 'v1.2.3'".to_owned(),
                "CLANFORGE_WAIT_REPOSITORY = 'acme/clanforge-wait'".to_owned(),
                format!("CLANFORGE_WAIT_SHA256     = '{x64}'"),
            ],
        ),
        (
            "ci/teamcity/settings.kts",
            [
                "param(\"env.CLANFORGE_WAIT_VERSION\", \"v1.2.3\")".to_owned(),
                "param(\"env.CLANFORGE_WAIT_REPOSITORY\", \"acme/clanforge-wait\")".to_owned(),
                format!("param(\"env.CLANFORGE_WAIT_SHA256\", \"{x64}\")"),
            ],
        ),
        (
            "ci/azure/azure-pipelines.yml",
            [
                "  CLANFORGE_WAIT_VERSION: v1.2.3\n".to_owned(),
                "  CLANFORGE_WAIT_REPOSITORY: acme/clanforge-wait\n".to_owned(),
                format!("  CLANFORGE_WAIT_SHA256: \"{x64}\"\n"),
            ],
        ),
        (
            "ci/buildkite/pipeline.yml",
            [
                "      CLANFORGE_WAIT_VERSION: v1.2.3\n".to_owned(),
                "      CLANFORGE_WAIT_REPOSITORY: acme/clanforge-wait\n".to_owned(),
                format!("      CLANFORGE_WAIT_SHA256: \"{x64}\"\n"),
            ],
        ),
    ] {
        let before =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        let after = std::fs::read_to_string(root.path().join(file)).unwrap();
        for line in &lines {
            assert!(after.contains(line.as_str()), "{line} in\n{after}");
        }
        assert!(!after.contains("OWNER"), "{file}");
        let changed = before.lines().zip(after.lines()).filter(|(b, a)| b != a).count();
        assert_eq!(changed, 3, "{file}: only the three pins change");
    }
}

/// `cargo binstall` downloads what the release publishes: its `pkg-url`, expanded as binstall
/// does, is the release's archive for the target, and the binary is at the archive's root.
#[test]
fn cargo_binstall_s_metadata_names_the_release_s_archives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let key = |name: &str| {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("no {name} in Cargo.toml"));
        line.split_once(" = \"").unwrap().1.trim_end_matches('"').to_owned()
    };
    let version = env!("CARGO_PKG_VERSION");
    let url = key("pkg-url")
        .replace("{ repo }", &key("repository"))
        .replace("{ version }", version)
        .replace("{ name }", "clanforge-wait")
        .replace("{ target }", TARGET);
    assert_eq!(
        url,
        format!(
            "https://github.com/OWNER/clanforge-wait/releases/download/v{version}/\
             clanforge-wait-{TARGET}.tar.gz"
        )
    );
    assert_eq!(key("bin-dir"), "{ bin }{ binary-ext }");
    assert_eq!(key("pkg-fmt"), "tgz");
    // The archives the release workflow makes: scripts/package.sh, named and laid out so.
    let package = std::fs::read_to_string(root.join("scripts/package.sh")).unwrap();
    assert!(package.contains("archive=\"clanforge-wait-$target.tar.gz\""), "{package}");
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    assert!(workflow.contains("bash scripts/package.sh \"$TARGET\""), "{workflow}");
}
