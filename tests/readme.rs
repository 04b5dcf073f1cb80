//! The README and the book repeat facts the code owns; these tests keep them in step.

use clanforge_wait::testing::EXIT_CODES;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    let to = text[from..].find(end).unwrap_or_else(|| panic!("no {end}")) + from;
    text[from..to].trim()
}

#[test]
fn the_readme_exit_code_table_is_the_one_in_the_code() {
    let mut table = String::from("| code | `result` | meaning |\n|---|---|---|\n");
    for (code, result, meaning) in EXIT_CODES {
        table.push_str(&format!("| {code} | `{result}` | {meaning} |\n"));
    }
    for (name, text) in [
        ("README.md", readme()),
        ("docs/src/reference/exit-codes.md", book("reference/exit-codes.md")),
    ] {
        assert_eq!(
            between(&text, "<!-- exit-codes:start -->", "<!-- exit-codes:end -->"),
            table.trim(),
            "update {name}'s exit-code table from src/outcome.rs"
        );
    }
}

fn book(page: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/src/{page}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("docs/src/{page}: {e}"))
}

/// The flags' reference holds every flag the binary takes, with its variable, and no other.
#[test]
fn the_flags_reference_is_what_the_binary_takes() {
    let reference = book("reference/flags.md");
    let rows: Vec<&str> = reference.lines().filter(|l| l.starts_with("| `--")).collect();
    let mut stack = vec![clanforge_wait::testing::command()];
    let mut flags = std::collections::BTreeMap::new();
    while let Some(command) = stack.pop() {
        for arg in command.get_arguments() {
            if let Some(long) = arg.get_long().filter(|l| !["help", "version"].contains(l)) {
                let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
                for alias in arg.get_visible_aliases().into_iter().flatten() {
                    flags.insert(alias.to_owned(), env.clone());
                }
                flags.insert(long.to_owned(), env);
            }
        }
        stack.extend(command.get_subcommands().cloned());
    }
    // A row's flags: each `--name` in its first cell (`--url <URL>`, `--url-file <FILE>`).
    let flags_of = |row: &str| -> Vec<String> {
        let cell = row.split(" | ").next().unwrap_or_default();
        cell.split('`')
            .filter_map(|code| code.strip_prefix("--"))
            .map(|code| code.split([' ', '[', '=']).next().unwrap().to_owned())
            .collect()
    };
    let mut missing = Vec::new();
    for (long, env) in &flags {
        match rows.iter().find(|r| flags_of(r).contains(long)) {
            None => missing.push(format!("--{long}")),
            Some(row) => {
                if let Some(env) = env {
                    assert!(row.contains(&format!("`{env}`")), "--{long}'s row lacks {env}: {row}");
                }
            }
        }
    }
    assert!(missing.is_empty(), "docs/src/reference/flags.md has no row for {missing:?}");
    for row in rows {
        for long in flags_of(row) {
            assert!(
                flags.contains_key(&long),
                "the reference names --{long}, which the binary does not take"
            );
        }
    }
}

#[test]
fn the_readme_is_a_landing_page() {
    let readme = readme();
    assert!(readme.len() <= 16 * 1024, "README.md is {} bytes", readme.len());
    let install = readme.lines().position(|l| l == "## Install").expect("an Install section");
    assert!(install < 60, "Install starts at line {}", install + 1);
}

#[test]
fn the_readme_gives_the_test_command_that_ci_runs() {
    let ci =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).expect(".ci/run");
    assert!(ci.contains("\ncargo test --locked\n"));
    assert!(readme().contains("cargo test --locked               # the test suite"));
}

/// Rewrite with UPDATE_GOLDEN=1 after a deliberate change, and review the diff.
fn assert_golden_help(args: &[&str], file: &str) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_clanforge-wait"))
        .args(args)
        .arg("--help")
        .env_clear()
        .env("COLUMNS", "100")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    let golden = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &help).expect("golden file written");
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(
        help, expected,
        "{args:?} --help changed: review it, then UPDATE_GOLDEN=1 cargo test"
    );
}

#[test]
fn help_matches_its_golden_file() {
    assert_golden_help(&[], "help.txt");
}

#[test]
fn the_subcommands_help_matches_its_golden_files() {
    assert_golden_help(&["deploy"], "help-deploy.txt");
    assert_golden_help(&["start", "update"], "help-start-update.txt");
    assert_golden_help(&["start", "diff"], "help-start-diff.txt");
    assert_golden_help(&["start", "version"], "help-start-version.txt");
}

/// The man pages, from the same clap definitions as `--help`: `man/clanforge-wait.1` and one
/// per subcommand. Rewrite with UPDATE_GOLDEN=1 after a change to the flags.
#[test]
fn the_man_pages_are_current() {
    let fresh = tempfile::tempdir().expect("a temp folder");
    let command = clanforge_wait::testing::command().term_width(100);
    clap_mangen::generate_to(command, fresh.path()).expect("the pages render");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let names = |dir: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| Some(e.ok()?.file_name())).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("man/");
        for name in names(fresh.path()) {
            std::fs::copy(fresh.path().join(&name), dir.join(&name)).expect("page copied");
        }
    }
    assert_eq!(names(&dir), names(fresh.path()), "man/ has other pages than the CLI");
    for name in names(fresh.path()) {
        let page = std::fs::read(fresh.path().join(&name)).expect("page");
        assert!(
            page == std::fs::read(dir.join(&name)).unwrap_or_default(),
            "man/{} is out of date: UPDATE_GOLDEN=1 cargo test --test readme, and review the diff",
            name.to_string_lossy()
        );
    }
}

/// Every version a user copies (the action's ref, the template's, the container's tag, the
/// template's download) is Cargo.toml's: one version, set by scripts/bump-version.sh.
#[test]
fn every_pinned_version_is_cargo_s() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![
        root.join("README.md"),
        root.join("Dockerfile"),
        root.join("ci/gitlab/clanforge-wait.yml"),
        root.join("ci/jenkins/Jenkinsfile"),
        root.join("ci/teamcity/settings.kts"),
        root.join("ci/azure/azure-pipelines.yml"),
        root.join("ci/buildkite/pipeline.yml"),
        root.join("ci/github/wait.yml"),
        root.join("ci/github/deploy.yml"),
        root.join("ci/gitlab/example.yml"),
    ];
    let mut stack = vec![root.join("docs/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let mut pins = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for prefix in [
            "clanforge-wait@v",
            "clanforge-wait/v",
            "clanforge-wait:",
            "CLANFORGE_WAIT_VERSION: v",
            "CLANFORGE_WAIT_VERSION    = 'v",
            "CLANFORGE_WAIT_VERSION\", \"v",
            "--branch v",
            "ACTION_REF=v",
        ] {
            for (at, _) in text.match_indices(prefix) {
                let rest = &text[at + prefix.len()..];
                let pinned: String =
                    rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
                if pinned.is_empty() {
                    continue;
                }
                pins += 1;
                assert_eq!(
                    pinned.trim_end_matches('.'),
                    version,
                    "{} pins {prefix}{pinned}: run scripts/bump-version.sh",
                    file.display()
                );
            }
        }
    }
    assert!(pins >= 12, "only {pins} pins found");
}

/// The GitHub Actions page names every input the action takes, and the action none it does
/// not describe there.
#[test]
fn the_github_page_names_every_input_of_the_action() {
    let action =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    let inputs = &action[action.find("\ninputs:\n").unwrap()..action.find("\noutputs:\n").unwrap()];
    let page = book("ci/github-actions.md");
    for line in inputs.lines() {
        let Some(name) = line
            .strip_prefix("  ")
            .and_then(|l| l.strip_suffix(':'))
            .filter(|n| !n.starts_with(' '))
        else {
            continue;
        };
        assert!(
            page.contains(&format!("`{name}`")),
            "docs/src/ci/github-actions.md does not name the input {name}"
        );
    }
}
