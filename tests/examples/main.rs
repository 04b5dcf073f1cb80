//! The pipeline examples in `ci/` (and the book, which includes each one from its file), run as
//! their CI would run them: each step's shell in order, with the variables the file sets and the
//! CI's own, against the simulator; a step after a failed one runs only if the file says so.
//! Each example must install the gate from a release (here a release server on 127.0.0.1,
//! checked against the SHA-256 the file pins), deploy, hand the version's ID to its next step,
//! publish its JUnit file whatever happened, roll out only on success, and, re-run after a
//! failure the way its CI re-runs one, resume the deploy from the result file its platform kept
//! (a stash, an artifact, meta-data) instead of creating a job twice.
#![cfg(unix)]

#[path = "../common/mod.rs"]
mod common;
mod pipelines;

use clanforge_sim::{Image, Sim, SimServer};
use common::release::{LINUX_ARCHIVE, pack, serve_files};
use common::*;
use pipelines::Pipeline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The update URL the examples take from the CI's secret store.
const URL: &str = "s3://AKIAURLKEY:url%2Fsecret-PLUGH@my-bucket/builds/42/";
/// The version every example pins.
const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

fn example(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect(path)
}

/// This build of the gate, published as a release: its server and the archive's SHA-256.
/// Packed once for all the tests of this process (a debug build takes a second to compress).
struct Release {
    url: String,
    sha256: String,
}

impl Release {
    fn get() -> &'static Self {
        static RELEASE: std::sync::OnceLock<Release> = std::sync::OnceLock::new();
        RELEASE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let sha256 = pack(&binary(), &dir.path().join(VERSION).join(LINUX_ARCHIVE));
            let url = serve_files(dir.path());
            Self { url, sha256 }
        })
    }

    /// What a studio sets once the release is out: the SHA-256 pinned (the examples as written
    /// pin none before it), and the release server in GitHub's stead.
    fn pinned(&self) -> Vec<(String, String)> {
        vec![
            ("CLANFORGE_WAIT_SHA256".into(), self.sha256.clone()),
            ("CLANFORGE_WAIT_RELEASES".into(), self.url.clone()),
        ]
    }
}

/// An agent's workspace for one attempt: `rollout.sh` (which records its arguments in
/// `rolled-out`) and a recording `buildkite-agent` on PATH; no gate until a step installs it.
/// `store` is what the CI keeps between attempts (stashes, artifacts, meta-data).
pub(crate) struct Workspace {
    dir: tempfile::TempDir,
    pub(crate) store: PathBuf,
    /// 1 for a first run; 2 for the re-run after it.
    pub(crate) attempt: u32,
    /// Set last, over the file's own variables.
    overrides: Vec<(String, String)>,
}

impl Workspace {
    fn new(store: &Path, attempt: u32, overrides: Vec<(String, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        let agent = format!(
            "#!/bin/sh\n\
             data='{data}'\nmkdir -p \"$data\"\n\
             case \"$1 $2\" in\n\
             'meta-data set') if [ $# -ge 4 ]; then printf '%s' \"$4\"; else cat; fi > \"$data/$3\" ;;\n\
             'meta-data get') if [ -f \"$data/$3\" ]; then cat \"$data/$3\";\n\
               elif [ \"$4\" = --default ]; then printf '%s' \"$5\"; else exit 1; fi ;;\n\
             *) cat > /dev/null ;;\n\
             esac\n",
            data = store.join("meta-data").display()
        );
        let rollout = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            dir.path().join("rolled-out").display()
        );
        for (name, script) in
            [("bin/buildkite-agent", agent.as_str()), ("rollout.sh", rollout.as_str())]
        {
            let path = dir.path().join(name);
            std::fs::write(&path, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir, store: store.to_owned(), attempt, overrides }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What `rollout.sh` was given, if it ran.
    fn rolled_out(&self) -> Option<String> {
        std::fs::read_to_string(self.path("rolled-out")).ok()
    }

    /// The environment every step gets: the simulator, fast polling, `vars`, the overrides.
    pub(crate) fn env(
        &self,
        server: &SimServer,
        vars: &BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("PATH", format!("{}:/usr/bin:/bin", self.path("bin").display())),
            ("CLANFORGE_BASE_URL", server.url()),
            ("CLANFORGE_INTERVAL", "10ms".into()),
            ("CLANFORGE_MAX_INTERVAL", "40ms".into()),
            ("CLANFORGE_REQUEST_TIMEOUT", "2s".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.extend(self.overrides.iter().cloned());
        env
    }

    /// Runs one step's shell; its exit code and what it printed.
    pub(crate) fn run(&self, script: &str, env: &[(String, String)]) -> (i32, String, String) {
        let out = Command::new("/bin/sh")
            .args(["-e", "-c", script])
            .current_dir(self.dir.path())
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The secrets a studio keeps in its CI's store.
pub(crate) fn secrets() -> BTreeMap<String, String> {
    [
        ("CLANFORGE_ACCESS_KEY", ACCESS_KEY),
        ("CLANFORGE_SECRET_KEY", SECRET_KEY),
        ("CLANFORGE_UPDATE_URL", URL),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into()
}

fn world(image: Image) -> SimServer {
    Sim::new().credentials(ACCESS_KEY, SECRET_KEY).image(image).spawn().unwrap()
}

/// How many times the server was asked to create a job of each kind.
fn creates(server: &SimServer) -> BTreeMap<String, usize> {
    let mut creates = BTreeMap::new();
    for request in server.requests() {
        if let Some(kind) = request.path.strip_suffix("/create") {
            *creates.entry(kind.to_owned()).or_default() += 1;
        }
    }
    creates
}

/// What every example must do, for a ready image and a locked one.
fn assert_continues_only_on_success(pipeline: &Pipeline) {
    let name = pipeline.name;
    let release = Release::get();
    let store = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(store.path(), 1, release.pinned());
    let server = world(Image::quick(42, 1234));
    let (code, log) = pipeline.run(&workspace, &server);
    assert_eq!(code, 0, "{name}: the deploy failed:\n{log}");
    assert_eq!(
        workspace.rolled_out().as_deref(),
        Some(pipeline.rolls_out(&workspace).as_str()),
        "{name}: rolled out with what the gate made:\n{log}"
    );
    let junit = std::fs::read_to_string(workspace.path("clanforge-wait.xml")).unwrap();
    assert!(junit.contains("tests=\"4\" failures=\"0\" errors=\"0\""), "{name}: {junit}");
    // Azure's mask commands are the one place a secret is named, to the agent.
    assert_never_shown(name, &log, &[SECRET_KEY, "secret-PLUGH"], AZURE_MASK);

    let store = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(store.path(), 1, release.pinned());
    let server = world(Image::quick(42, 1234).locked_by(218_595));
    let (code, log) = pipeline.run(&workspace, &server);
    assert_eq!(code, 4, "{name}: a locked image is an API error:\n{log}");
    assert_eq!(workspace.rolled_out(), None, "{name}: rolled out after a failure");
    let junit = std::fs::read_to_string(workspace.path("clanforge-wait.xml")).unwrap();
    assert!(junit.contains("errors=\"1\""), "{name}: the report says why: {junit}");
    assert!(creates(&server).is_empty(), "{name}: nothing created on a locked image");
}

/// A first run that times out while the update runs, then the CI's own re-run on a fresh
/// agent: the re-run resumes from the result file its platform kept, creating nothing twice,
/// and rolls out.
fn assert_a_rerun_resumes(pipeline: &Pipeline) {
    let name = pipeline.name;
    let release = Release::get();
    let store = tempfile::tempdir().unwrap();
    let server =
        world(Image { update_takes: Duration::from_millis(1500), ..Image::quick(42, 1234) });
    let mut first = release.pinned();
    first.push(("CLANFORGE_TIMEOUT".into(), "400ms".into()));
    let workspace = Workspace::new(store.path(), 1, first);
    let (code, log) = pipeline.run(&workspace, &server);
    assert_eq!(code, 3, "{name}: the first run times out:\n{log}");
    assert_eq!(workspace.rolled_out(), None, "{name}: {log}");

    let workspace = Workspace::new(store.path(), 2, release.pinned());
    let (code, log) = pipeline.run(&workspace, &server);
    assert_eq!(code, 0, "{name}: the re-run completes the deploy:\n{log}");
    assert!(
        log.contains("update 5001"),
        "{name}: the re-run resumed on the update the first run made:\n{log}"
    );
    let once: BTreeMap<String, usize> = ["imagediff", "imageupdate", "imageversion"]
        .map(|kind| (format!("/cfp/v1/{kind}"), 1))
        .into();
    assert_eq!(creates(&server), once, "{name}: each job created once");
    assert_eq!(
        workspace.rolled_out().as_deref(),
        Some(pipeline.rolls_out(&workspace).as_str()),
        "{name}: {log}"
    );
}

/// Every check, for one example.
fn check(file: &'static str) {
    let pipeline = Pipeline::read(file);
    assert_continues_only_on_success(&pipeline);
    assert_a_rerun_resumes(&pipeline);
    assert_refuses_an_unpinned_download(&pipeline);
}

#[test]
fn the_jenkinsfile_installs_deploys_and_resumes_a_restarted_stage_from_its_stash() {
    check("ci/jenkins/Jenkinsfile");
}

#[test]
fn the_teamcity_dsl_installs_deploys_and_resumes_a_rerun_from_its_last_build_s_artifact() {
    check("ci/teamcity/settings.kts");
}

#[test]
fn the_azure_pipeline_installs_deploys_and_resumes_a_rerun_job_from_its_attempt_s_artifact() {
    check("ci/azure/azure-pipelines.yml");
}

#[test]
fn the_buildkite_pipeline_installs_deploys_and_resumes_a_retried_step_from_meta_data() {
    check("ci/buildkite/pipeline.yml");
}

/// As written (no release pinned yet) an example refuses to download anything; with a
/// release whose archive is not the one pinned, it refuses to run it.
fn assert_refuses_an_unpinned_download(pipeline: &Pipeline) {
    let name = pipeline.name;
    let release = Release::get();
    let store = tempfile::tempdir().unwrap();
    let releases = vec![("CLANFORGE_WAIT_RELEASES".into(), release.url.clone())];
    let workspace = Workspace::new(store.path(), 1, releases);
    let server = world(Image::quick(42, 1234));
    let (code, log) = pipeline.run(&workspace, &server);
    assert_eq!(code, 2, "{name}: {log}");
    assert!(log.contains("no SHA-256 is pinned for v"), "{name}: {log}");
    assert!(!workspace.path("clanforge-wait").exists(), "{name}");

    let mut wrong = release.pinned();
    wrong[0].1 = "0".repeat(64);
    let workspace = Workspace::new(store.path(), 1, wrong);
    let (code, log) = pipeline.run(&workspace, &server);
    assert_ne!(code, 0, "{name}: {log}");
    assert!(log.contains("FAILED"), "{name}: {log}");
    assert!(server.requests().is_empty(), "{name}: the gate never ran");
}

/// The install is the same lines in each file (in its CI's quoting), pinned to the version
/// Cargo.toml says, with no checksum until a release pins one (scripts/pin-release.sh).
#[test]
fn each_example_installs_the_same_way() {
    let pipelines = [
        "ci/jenkins/Jenkinsfile",
        "ci/teamcity/settings.kts",
        "ci/azure/azure-pipelines.yml",
        "ci/buildkite/pipeline.yml",
    ]
    .map(Pipeline::read);
    let first = &pipelines[0].install;
    assert!(first.contains("sha256sum -c"), "{first}");
    for pipeline in &pipelines {
        let name = pipeline.name;
        assert_eq!(&pipeline.install, first, "{name} installs differently");
        assert_eq!(pipeline.vars["CLANFORGE_WAIT_VERSION"], VERSION, "{name}");
        assert_eq!(pipeline.vars["CLANFORGE_WAIT_SHA256"], "", "{name}");
    }
}

#[test]
fn the_book_includes_each_example_from_its_tested_file() {
    for (page, path) in [
        ("docs/src/ci/jenkins.md", "ci/jenkins/Jenkinsfile"),
        ("docs/src/ci/teamcity.md", "ci/teamcity/settings.kts"),
        ("docs/src/ci/azure-pipelines.md", "ci/azure/azure-pipelines.yml"),
        ("docs/src/ci/buildkite.md", "ci/buildkite/pipeline.yml"),
        ("docs/src/ci/github-actions.md", "ci/github/wait.yml"),
        ("docs/src/ci/gitlab-ci.md", "ci/gitlab/example.yml:all"),
        ("docs/src/deploy.md", "ci/github/deploy.yml"),
        ("docs/src/deploy.md", "ci/gitlab/example.yml:deploy"),
    ] {
        let up = if page.starts_with("docs/src/ci/") { "../../../" } else { "../../" };
        let include = format!("{{{{#include {up}{path}}}}}");
        assert!(example(page).contains(&include), "{page} must include {path} (not a copy of it)");
    }
    // Every pipeline the book shows comes from a file: no YAML, Groovy or Kotlin typed in.
    for page in ["ci/github-actions.md", "ci/gitlab-ci.md", "deploy.md"] {
        let text = example(&format!("docs/src/{page}"));
        for block in text.split("```yaml\n").skip(1) {
            assert!(block.starts_with("{{#include "), "{page} types a pipeline in:\n{block}");
        }
    }
}

/// act runs ci/github/deploy.yml without its cache steps (it can't fetch actions/cache here):
/// their keys are checked by reading. A re-run (a new attempt of the same run) restores what
/// the attempt before it saved, and nothing from another run; the save runs whatever happened.
#[test]
fn the_github_deploy_example_keeps_its_result_for_a_re_run_of_that_run_only() {
    let file = example("ci/github/deploy.yml");
    let key = "key: clanforge-deploy-${{ github.run_id }}-${{ github.run_attempt }}";
    assert_eq!(file.matches(key).count(), 2, "restore and save, one key:\n{file}");
    assert!(file.contains("restore-keys: clanforge-deploy-${{ github.run_id }}-\n"));
    let save = &file[file.find("uses: actions/cache/save@").unwrap() - 80..];
    assert!(save.contains("if: always()"), "{save}");
    assert!(file.contains("resume-from: deploy.json") && file.contains("result-file: deploy.json"));
}
