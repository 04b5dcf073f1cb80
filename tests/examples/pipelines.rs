//! Each CI example read from its file (the subset of its language it uses) and run as its CI
//! would: the steps in order, the conditions it sets, and what its platform keeps between
//! attempts (a Jenkins stash, a TeamCity artifact, an Azure pipeline artifact, Buildkite
//! meta-data) kept in the workspace's store.

use super::{Workspace, example, secrets};
use clanforge_sim::SimServer;
use std::collections::BTreeMap;
use std::path::Path;

/// The revision TeamCity builds, for its `%build.vcs.number%`.
const REVISION: &str = "4f2e9c1";

pub(crate) struct Pipeline {
    pub(crate) name: &'static str,
    /// The file's own `CLANFORGE_*` variables.
    pub(crate) vars: BTreeMap<String, String>,
    /// The install lines of its deploy step, each trimmed, as its shell sees them.
    pub(crate) install: String,
    steps: Vec<Step>,
    ci: Ci,
}

/// One step: a shell (or a platform action), and when it runs.
#[derive(Debug, Clone)]
struct Step {
    run: Run,
    when: When,
}

#[derive(Debug, Clone)]
enum Run {
    /// A script, and the variables its step maps into its env (`NAME: $(MACRO)`, Azure's).
    Shell { script: String, env: Vec<(String, String)> },
    /// Copies the kept `from` (in the store) to `to` (in the workspace), if it was kept.
    Restore { from: String, to: String },
    /// Keeps the workspace's `from` in the store as `to`.
    Keep { from: String, to: String },
    /// Publishes the JUnit file (it must be there, whatever happened).
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    /// Only while every step before it succeeded.
    OnSuccess,
    Always,
    /// Azure's `gt(variables['System.JobAttempt'], 1)`.
    Rerun,
}

#[derive(Debug, Clone, Copy)]
enum Ci {
    Jenkins,
    TeamCity,
    Azure,
    Buildkite,
}

impl Pipeline {
    pub(crate) fn read(path: &'static str) -> Self {
        let file = example(path);
        let (ci, steps, vars) = match path {
            "ci/jenkins/Jenkinsfile" => (Ci::Jenkins, jenkins(&file), jenkins_vars(&file)),
            "ci/teamcity/settings.kts" => (Ci::TeamCity, teamcity(&file), teamcity_vars(&file)),
            "ci/azure/azure-pipelines.yml" => azure(&file),
            "ci/buildkite/pipeline.yml" => buildkite(&file),
            _ => panic!("{path}"),
        };
        let deploy = steps
            .iter()
            .find_map(|s| match &s.run {
                Run::Shell { script, .. } if script.contains("clanforge-wait deploy") => {
                    Some(script.as_str())
                }
                _ => None,
            })
            .expect("a deploy step");
        let lines: Vec<&str> = deploy.lines().map(str::trim).collect();
        let from = lines.iter().position(|l| l.starts_with("archive=")).unwrap();
        let to = lines.iter().position(|l| l.starts_with("tar -xzf")).unwrap();
        Self {
            name: path.rsplit('/').next().unwrap(),
            vars,
            install: lines[from..=to].join("\n"),
            steps,
            ci,
        }
    }

    /// Runs every step as the CI would, for the workspace's attempt; the exit code of the
    /// first step that failed (0 if none) and everything the steps printed.
    pub(crate) fn run(&self, ws: &Workspace, server: &SimServer) -> (i32, String) {
        let mut vars = self.vars.clone();
        let secrets = secrets();
        // Azure's secret variables reach a script only through its step's env.
        if !matches!(self.ci, Ci::Azure) {
            vars.extend(secrets.clone());
        }
        let (name, value) = match self.ci {
            Ci::Jenkins => ("JENKINS_URL", "https://jenkins.example/"),
            Ci::TeamCity => ("TEAMCITY_VERSION", "2025.11 (build 197398)"),
            Ci::Azure => ("TF_BUILD", "True"),
            Ci::Buildkite => ("BUILDKITE", "true"),
        };
        vars.insert(name.into(), value.into());
        if matches!(self.ci, Ci::Azure) {
            // The agent's own variables a script reads: $(System.JobAttempt), the run's folder.
            vars.insert("SYSTEM_JOBATTEMPT".into(), ws.attempt.to_string());
            let folder = ws.path("pipeline").display().to_string();
            vars.insert("PIPELINE_WORKSPACE".into(), folder);
        }
        let mut log = String::new();
        let mut failed = None;
        for step in &self.steps {
            let runs = match step.when {
                When::OnSuccess => failed.is_none(),
                When::Always => true,
                When::Rerun => ws.attempt > 1,
            };
            if !runs {
                continue;
            }
            let code = match &step.run {
                Run::Shell { script, env } => {
                    let mut env_of = ws.env(server, &vars);
                    for (name, value) in env {
                        let name_of = &value[2..value.len() - 1];
                        let value = vars.get(name_of).or(secrets.get(name_of));
                        env_of.push((name.clone(), value.cloned().unwrap_or_default()));
                    }
                    let (code, out, err) = ws.run(script, &env_of);
                    log.push_str(&out);
                    log.push_str(&err);
                    self.hand_on(&out, &err, &mut vars);
                    code
                }
                Run::Restore { from, to } => copy(&ws.store.join(from), &ws.path(to)),
                Run::Keep { from, to } => {
                    let to = to.replace("$(System.JobAttempt)", &ws.attempt.to_string());
                    copy(&ws.path(from), &ws.store.join(to))
                }
                Run::Junit => {
                    // Once the gate ran, its report is there whatever happened.
                    let ran = ws.path("clanforge-wait").exists();
                    assert!(!ran || ws.path("clanforge-wait.xml").exists(), "{log}");
                    0
                }
            };
            if code != 0 && failed.is_none() && matches!(step.run, Run::Shell { .. }) {
                failed = Some(code);
            }
        }
        (failed.unwrap_or(0), log)
    }

    /// What the rollout is given once the deploy succeeded.
    pub(crate) fn rolls_out(&self, ws: &Workspace) -> String {
        match self.ci {
            Ci::Jenkins => {
                // The rollout reads the IDs from the result file the gate wrote.
                let result = std::fs::read_to_string(ws.path("clanforge-result.json")).unwrap();
                let result: serde_json::Value = serde_json::from_str(&result).unwrap();
                assert_eq!(result["image_version_id"], "5003");
                "clanforge-result.json\n".to_owned()
            }
            _ => "5003\n".to_owned(),
        }
    }

    /// The variables a step hands to the steps after it, as its CI reads them from its log.
    fn hand_on(&self, out: &str, err: &str, vars: &mut BTreeMap<String, String>) {
        match self.ci {
            Ci::TeamCity => {
                for rest in
                    out.lines().filter_map(|l| l.strip_prefix("##teamcity[setParameter name='env."))
                {
                    let (name, rest) = rest.split_once("' value='").unwrap();
                    let value = rest.strip_suffix("']").unwrap();
                    vars.insert(name.into(), value.replace("|'", "'").replace("||", "|"));
                }
            }
            Ci::Azure => {
                // $(gate.NAME) reaches a later step through its env: here, by that name.
                for rest in
                    err.lines().filter_map(|l| l.strip_prefix("##vso[task.setvariable variable="))
                {
                    let (name, value) = rest.split_once(";isoutput=true;]").unwrap();
                    vars.insert(format!("gate.{name}"), value.replace("%AZP25", "%"));
                }
            }
            Ci::Jenkins | Ci::Buildkite => {}
        }
    }
}

/// Copies the file or folder `from` to `to` (making `to`'s folder), or removes `to` when there
/// is no `from`: what an attempt keeps replaces what the one before kept. 0, as the CI's own
/// step that finds nothing to copy succeeds.
fn copy(from: &Path, to: &Path) -> i32 {
    if from.is_dir() {
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else if from.is_file() {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    } else {
        let _ = std::fs::remove_file(to);
    }
    0
}

/// The lines after `start` up to the first that is `end` (trimmed), as one script.
fn block<'a>(lines: &mut impl Iterator<Item = &'a str>, end: &str) -> String {
    let mut script = String::new();
    for line in lines.by_ref() {
        if line.trim() == end {
            return script;
        }
        script.push_str(line.trim());
        script.push('\n');
    }
    panic!("no {end}");
}

// ---- Jenkins ----------------------------------------------------------------------------

/// A declarative pipeline's steps: `unstash`, `sh` (one line or a `'''` block), and a stage's
/// `post { always { … } }` (junit, stash). A failed `sh` fails its stage; the stages after it
/// are skipped; post-always runs whatever happened. A restarted stage finds the build's
/// stashes (`preserveStashes`).
fn jenkins(file: &str) -> Vec<Step> {
    assert!(file.contains("preserveStashes(buildCount: "));
    let mut steps = Vec::new();
    let mut lines = file.lines();
    let mut post = false;
    while let Some(line) = lines.next() {
        let line = line.trim();
        let when = if post { When::Always } else { When::OnSuccess };
        if line.starts_with("stage(") {
            post = false;
        } else if line == "post {" {
            post = true;
        } else if line == "sh '''" {
            let script = block(&mut lines, "'''");
            steps.push(Step { run: Run::Shell { script, env: Vec::new() }, when });
        } else if let Some(script) = line.strip_prefix("sh '") {
            let script = script.strip_suffix('\'').unwrap().to_owned();
            steps.push(Step { run: Run::Shell { script, env: Vec::new() }, when });
        } else if line == "unstash 'clanforge-resume'" {
            let run = Run::Restore {
                from: "stash/clanforge-result.json".into(),
                to: "clanforge-result.json".into(),
            };
            steps.push(Step { run, when });
        } else if line.starts_with("junit testResults: 'clanforge-wait.xml'") {
            assert!(post, "{line}");
            steps.push(Step { run: Run::Junit, when });
        } else if line
            .starts_with("stash name: 'clanforge-resume', includes: 'clanforge-result.json'")
        {
            assert!(post, "{line}");
            let run = Run::Keep {
                from: "clanforge-result.json".into(),
                to: "stash/clanforge-result.json".into(),
            };
            steps.push(Step { run, when });
        }
    }
    steps
}

fn jenkins_vars(file: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in file.lines() {
        if let Some((name, value)) = line.trim().split_once(" = '")
            && name.starts_with("CLANFORGE_")
        {
            vars.insert(name.trim().into(), value.trim_end_matches('\'').into());
        }
    }
    vars
}

// ---- TeamCity ---------------------------------------------------------------------------

/// The build's steps: its artifact dependency on the last finished build (restored first),
/// its scripts (`RUN_ON_SUCCESS` after a failure is skipped), its JUnit report and its
/// artifacts (published whatever happened).
fn teamcity(file: &str) -> Vec<Step> {
    let rule = |text: &str| -> (String, String) {
        let (from, to) = text.split_once(" => ").unwrap();
        let from = from.trim_start_matches("?:").replace("%build.vcs.number%", REVISION);
        (from, to.replace("%build.vcs.number%", REVISION))
    };
    let mut steps = Vec::new();
    let mut publish = None;
    let mut lines = file.lines();
    let mut in_dependencies = false;
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line == "dependencies {" {
            in_dependencies = true;
        } else if let Some(rules) = line.strip_prefix("artifactRules = \"") {
            let (from, to) = rule(rules.strip_suffix('"').unwrap());
            if in_dependencies {
                assert!(rules.starts_with("?:"), "optional: a first build has none");
                let from = format!("artifacts/{from}");
                let to = format!("{to}/{}", from.rsplit('/').next().unwrap());
                steps.push(Step { run: Run::Restore { from, to }, when: When::Always });
                in_dependencies = false;
            } else {
                let name = from.clone();
                publish = Some(Run::Keep { to: format!("artifacts/{to}/{name}"), from });
            }
        } else if line == "scriptContent = \"\"\"" {
            let script = block(&mut lines, "\"\"\".trimIndent()").replace("${'$'}", "$");
            steps.push(Step { run: Run::Shell { script, env: Vec::new() }, when: When::OnSuccess });
        } else if let Some(script) = line.strip_prefix("scriptContent = \"\"\"") {
            let script = script.strip_suffix("\"\"\"").unwrap().replace("${'$'}", "$");
            steps.push(Step { run: Run::Shell { script, env: Vec::new() }, when: When::OnSuccess });
        }
    }
    // A step runs after a failed one only if it says so; the rollout says the default aloud.
    assert!(file.contains("executionMode = BuildStep.ExecutionMode.RUN_ON_SUCCESS"));
    assert!(file.contains(
        "reportType = XmlReport.XmlReportType.JUNIT\n            rules = \"clanforge-wait.xml\""
    ));
    steps.push(Step { run: Run::Junit, when: When::Always });
    steps.push(Step { run: publish.expect("artifactRules"), when: When::Always });
    for secret in file.split("password(\"env.").skip(1) {
        let name = secret.split('"').next().unwrap();
        assert!(secrets().contains_key(name), "{name}");
    }
    steps
}

fn teamcity_vars(file: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for args in file.split("param(\"env.").skip(1) {
        let args = &args[..args.find("\")").unwrap()];
        let (name, value) = args.split_once("\", \"").unwrap();
        vars.insert(name.into(), value.into());
    }
    vars
}

// ---- Azure Pipelines --------------------------------------------------------------------

/// The `variables` and `steps` as written (the subset of YAML the file uses): a `script` (one
/// line or a `|` block) or a `task`, with its `condition`, `env` and `inputs`.
fn azure(file: &str) -> (Ci, Vec<Step>, BTreeMap<String, String>) {
    let mut vars = BTreeMap::new();
    let mut steps = Vec::new();
    let mut lines = file.lines().filter(|l| !l.trim_start().starts_with('#')).peekable();
    let mut section = "";
    while let Some(line) = lines.next() {
        if !line.starts_with(' ') && !line.is_empty() {
            section = line.trim_end_matches(':');
        } else if section == "variables" {
            if let Some((k, v)) = line.trim().split_once(": ") {
                vars.insert(k.to_owned(), v.trim_matches('"').to_owned());
            }
        } else if let Some(item) = line.strip_prefix("  - ").filter(|_| section == "steps") {
            // The step's own lines: everything indented under its `- `, that indent taken off.
            let mut fields = vec![item.to_owned()];
            while let Some(next) = lines.next_if(|l| l.starts_with("    ") || l.is_empty()) {
                fields.push(next.get(4..).unwrap_or("").to_owned());
            }
            steps.push(azure_step(&fields));
        }
    }
    (Ci::Azure, steps, vars)
}

/// One step, from its lines.
fn azure_step(fields: &[String]) -> Step {
    let mut keys: BTreeMap<&str, String> = BTreeMap::new();
    let mut env = Vec::new();
    let mut inputs: BTreeMap<&str, &str> = BTreeMap::new();
    let mut lines = fields.iter().map(String::as_str).peekable();
    let mut block = "";
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if line.starts_with("  ") {
            match block {
                "env" => env.push((key.to_owned(), value.to_owned())),
                "inputs" => drop(inputs.insert(key, value)),
                _ => {}
            }
            continue;
        }
        block = key;
        let value = if value == "|" {
            let mut text = String::new();
            while let Some(body) = lines.next_if(|l| l.starts_with("  ") || l.is_empty()) {
                text.push_str(body.get(2..).unwrap_or(""));
                text.push('\n');
            }
            text
        } else {
            value.to_owned()
        };
        keys.insert(key, value);
    }
    let when = match keys.get("condition").map(String::as_str) {
        None => When::OnSuccess,
        Some("always()" | "succeededOrFailed()") => When::Always,
        Some("gt(variables['System.JobAttempt'], 1)") => When::Rerun,
        Some(other) => panic!("{other}"),
    };
    let run = match (keys.get("script"), keys.get("task").map(String::as_str)) {
        (Some(script), None) => Run::Shell { script: script.clone(), env },
        (None, Some("DownloadPipelineArtifact@2")) => {
            assert_eq!(inputs["buildType"], "current");
            assert_eq!(inputs["itemPattern"], "clanforge-resume-*/**");
            assert_eq!(keys["continueOnError"], "true", "a first attempt has none");
            Run::Restore {
                from: "artifacts".into(),
                to: inputs["targetPath"].replace("$(Pipeline.Workspace)", "pipeline"),
            }
        }
        (None, Some("PublishPipelineArtifact@1")) => Run::Keep {
            from: inputs["targetPath"].to_owned(),
            to: format!("artifacts/{}/clanforge-result.json", inputs["artifact"]),
        },
        (None, Some("PublishTestResults@2")) => {
            assert_eq!(inputs["testResultsFormat"], "JUnit");
            assert_eq!(inputs["testResultsFiles"], "clanforge-wait.xml");
            Run::Junit
        }
        other => panic!("{other:?}"),
    };
    Step { run, when }
}

// ---- Buildkite --------------------------------------------------------------------------

/// The steps as written: a `command` (one line or a `|` block, `$$` a `$` left for the agent's
/// shell) with its `env`, and a `wait`, which stops the build after a failure. The fake agent
/// keeps meta-data in the store, as the build does across a step's retry.
fn buildkite(file: &str) -> (Ci, Vec<Step>, BTreeMap<String, String>) {
    let mut steps = Vec::new();
    let mut vars = BTreeMap::new();
    let mut after_wait = false;
    let mut in_env = false;
    let mut lines = file.lines().filter(|l| !l.trim_start().starts_with('#')).peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "- wait" {
            after_wait = true;
        } else if let Some(command) = trimmed.strip_prefix("command: ") {
            let script = if command == "|" {
                let mut text = String::new();
                while let Some(body) = lines.next_if(|l| l.starts_with("      ")) {
                    text.push_str(&body[6..]);
                    text.push('\n');
                }
                text
            } else {
                command.to_owned()
            };
            let script = script.replace("$$", "$");
            // A step after a `wait` runs only if every one before it passed.
            let when = if after_wait { When::OnSuccess } else { When::Always };
            steps.push(Step { run: Run::Shell { script, env: Vec::new() }, when });
        } else if trimmed == "env:" {
            in_env = true;
        } else if in_env && line.starts_with("      ") {
            let (k, v) = trimmed.split_once(": ").unwrap();
            vars.insert(k.to_owned(), v.trim_matches('"').to_owned());
        } else {
            in_env = false;
        }
    }
    assert!(file.contains("artifact_paths: clanforge-wait.xml"));
    assert_eq!(steps.len(), 2, "deploy, wait, roll out: {steps:?}");
    (Ci::Buildkite, steps, vars)
}
