//! Deploys on the simulated image: the flags, the server, and the witness of its request log.

use super::{ACCESS_KEY, Gate, SECRET_KEY};
use clanforge_sim::{Image, Request, Sim, SimServer};

pub(crate) const GAME: &str = "42";
pub(crate) const IMAGE: &str = "1234";
pub(crate) const MACHINE: &str = "5678";
/// The update URL a pipeline passes: storage credentials inside.
pub(crate) const URL: &str =
    "s3://AKIAURLKEY:url%2Fsecret-PLUGH@my-bucket/builds/42/?region=eu-west-1";

/// Image 1234 of game 42, its jobs quick.
pub(crate) fn quick_image() -> Image {
    Image::quick(42, 1234)
}

/// The simulator with `image`, and the suite's keys.
pub(crate) fn world(image: Image) -> SimServer {
    Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .image(image)
        .spawn()
        .expect("the simulator starts")
}

/// `clanforge-wait … deploy --game-id … --image-id … --machine-id …` against `server`.
pub(crate) fn deploy(server: &SimServer) -> Gate {
    on_image(Gate::against(server).without("--update-id").flag("deploy"))
}

/// `--game-id`, `--image-id` and `--machine-id` of the simulated image.
pub(crate) fn on_image(gate: Gate) -> Gate {
    gate.arg("--game-id", GAME).arg("--image-id", IMAGE).arg("--machine-id", MACHINE)
}

/// The state-changing requests the server saw, as `path` (creates and rejects), in order.
pub(crate) fn changes(server: &SimServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/create") || r.path.ends_with("/reject"))
        .map(|r| r.path.clone())
        .collect()
}

/// No create or reject went out twice.
#[track_caller]
pub(crate) fn assert_each_sent_at_most_once(server: &SimServer) {
    let sent = changes(server);
    let mut unique = sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(sent.len(), unique.len(), "a state-changing request went out twice: {sent:?}");
}

/// The first request whose path ends with `suffix`.
#[track_caller]
pub(crate) fn request(server: &SimServer, suffix: &str) -> Request {
    server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no request to …{suffix}"))
}

/// A query parameter of `request`, decoded.
pub(crate) fn query(request: &Request, name: &str) -> Option<String> {
    reqwest::Url::parse(&format!("http://x/?{}", request.query))
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}
