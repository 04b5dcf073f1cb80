//! What is wrong with a command line, as values whose messages say what to fix (exit 2).

use crate::kind::RefError;

/// A flag or variable to fix (exit 2).
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum UsageError {
    /// What clap (or the lenient reading after it) found wrong, as one line.
    #[error("{0}")]
    CommandLine(String),
    #[error("--job (CLANFORGE_JOBS) {0}")]
    Job(#[from] RefError),
    #[error("the argument {0}")]
    JobArgument(RefError),
    #[error("`completions` prints a shell's completion script and takes no gate flags: remove {0}")]
    NotForCompletions(String),
    #[error(
        "nothing to wait on: name a job as KIND/ID (e.g. update/4711), with --job \
         (CLANFORGE_JOBS) or with --update-id (CLANFORGE_UPDATE_ID); or create one with `start` \
         or `deploy` (see --help)"
    )]
    NothingToWaitOn,
    #[error(
        "--settle ({settle}) is longer than --timeout ({timeout}): an install or rollout with \
         nothing queued would time out before it could count as done; lower --settle or raise \
         --timeout"
    )]
    SettleAboveTimeout { settle: String, timeout: String },
    #[error(
        "both a token (--token, CLANFORGE_TOKEN) and access keys (--access-key, --secret-key) \
         are given: give the token for the operator's host (api.multiplay.dev), or the keys for \
         Unity's (api.multiplay.co.uk), not both"
    )]
    TwoDialects,
    #[error(
        "no credentials: set CLANFORGE_TOKEN (the operator's host, api.multiplay.dev) or \
         CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY (Unity's, api.multiplay.co.uk); in CI, \
         check that the secret exists and is passed to this step"
    )]
    NoCredentials,
    #[error(
        "{kind} needs --asid (CLANFORGE_ASID): the rollout status has the account service ID in \
         its path, even on the operator's host"
    )]
    AsidNeeded { kind: String },
    #[error("{flag} is missing or empty: set it{hint}")]
    Empty { flag: &'static str, hint: &'static str },
    #[error("--base-url (CLANFORGE_BASE_URL) {0}")]
    BaseUrl(String),
    #[error(
        "--base-url (CLANFORGE_BASE_URL) is plain http:// to {0}: the keys would cross the network \
         unencrypted; use https://, or pass --allow-insecure-http if you must"
    )]
    InsecureHttp(String),
    #[error("{flag} {path}: {reason}")]
    File { flag: &'static str, path: String, reason: String },
    #[error("{flag} must be longer than zero")]
    Zero { flag: &'static str },
    #[error("{flag} is longer than its limit of {max}: lower it")]
    TooLong { flag: &'static str, max: String },
    #[error(
        "--demo (CLANFORGE_DEMO) runs against a simulated API and can't be combined with {flag}: \
         {why}, without a request to Clanforge; unset CLANFORGE_DEMO (or drop --demo) {instead}"
    )]
    DemoWithRealJob { flag: &'static str, why: &'static str, instead: &'static str },
    #[error(
        "--interval ({interval}) is longer than --max-interval ({max}): lower it or raise the cap"
    )]
    IntervalAboveCap { interval: String, max: String },
    #[error(
        "--if-locked reject rejects the diff that locks the image, which discards it: add \
         --yes-reject-diff to allow that, or use --if-locked wait"
    )]
    RejectNotConfirmed,
    #[error(
        "--access-key (CLANFORGE_ACCESS_KEY) holds a ':', which Basic auth can't carry (the \
         user ends at the first ':'): check that the access key and the secret key are not \
         swapped or joined"
    )]
    ColonInAccessKey,
    #[error("{flag} must be a positive integer, not {value:?}")]
    NotAnId { flag: &'static str, value: String },
    #[error(
        "job arguments ({0}) can't come with a subcommand: `start` and `deploy` wait on what they \
         create; wait on other jobs in a step of their own"
    )]
    JobsWithCommand(String),
}
