//! Which CI runs the gate, decided here and nowhere else. Each platform is one file beside
//! this one; adding one is a variant, its variable and its reporter.

use super::{azure, buildkite, github, gitlab, teamcity};
use crate::event::Reporter;
use crate::secret::Secret;

/// A CI platform with a reporter of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    GitHub,
    GitLab,
    TeamCity,
    Azure,
    Buildkite,
}

impl Platform {
    const ALL: [Self; 5] =
        [Self::GitHub, Self::GitLab, Self::TeamCity, Self::Azure, Self::Buildkite];

    /// The variable the platform sets in every step.
    fn variable(self) -> &'static str {
        match self {
            Self::GitHub => "GITHUB_ACTIONS",
            Self::GitLab => "GITLAB_CI",
            Self::TeamCity => "TEAMCITY_VERSION",
            Self::Azure => "TF_BUILD",
            Self::Buildkite => "BUILDKITE",
        }
    }

    /// Does the variable's value say the platform runs us? `true` for most; Azure writes
    /// `True`; TeamCity's is its version, any.
    fn runs_us(self, value: &str) -> bool {
        let value = value.trim();
        match self {
            Self::TeamCity => !value.is_empty(),
            Self::Azure => value.eq_ignore_ascii_case("true"),
            _ => value == "true",
        }
    }

    /// Every platform whose variable says so, in a fixed order.
    pub(crate) fn detect(var: impl Fn(&str) -> Option<String>) -> Vec<Self> {
        Self::ALL.into_iter().filter(|p| var(p.variable()).is_some_and(|v| p.runs_us(&v))).collect()
    }

    /// Is any CI running us? `CI` set to anything but `false` or `0` (the convention most CI
    /// systems follow), or any platform's variable set at all: the log is then plain lines, even
    /// on a terminal. Broader than [`Platform::detect`] on purpose: a CI we have no reporter for
    /// still gets a log without bars.
    pub(crate) fn any_ci(var: impl Fn(&str) -> Option<String>) -> bool {
        var("CI").is_some_and(|v| !matches!(v.trim(), "" | "false" | "0"))
            // Jenkins sets no CI and has no reporter of its own: JUnit is its output.
            || var("JENKINS_URL").is_some_and(|v| !v.is_empty())
            || Self::ALL
                .into_iter()
                .any(|p| var(p.variable()).is_some_and(|v| !v.is_empty()))
    }

    /// The platform's reporter. It prints its first lines (GitHub's masks among them) now.
    pub(crate) fn reporter(
        self,
        var: &dyn Fn(&str) -> Option<String>,
        secrets: &[&Secret],
        title: &str,
    ) -> Box<dyn Reporter> {
        match self {
            Self::GitHub => Box::new(github::GitHub::start(var, secrets, title)),
            Self::GitLab => Box::new(gitlab::GitLab::start(title)),
            Self::TeamCity => Box::new(teamcity::TeamCity::start(title)),
            Self::Azure => Box::new(azure::Azure::start(secrets, title)),
            Self::Buildkite => Box::new(buildkite::Buildkite::start(title)),
        }
    }
}
