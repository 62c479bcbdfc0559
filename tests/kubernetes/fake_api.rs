//! A Kubernetes API server in memory, behind kube's mock service
//! (`tower_test::mock::pair`), shaped by the documented API: server-side apply
//! creates or updates, bumping `generation` when the spec changes; GET answers
//! 404 for what does not exist; deleting a namespace leaves it terminating for
//! a few reads, then gone, with everything in it. A Deployment "controller"
//! makes a Deployment available when it is read.
//!
//! Every request is logged as `METHOD path?query`, so tests assert the exact
//! requests; faults (an error status, or no answer at all) can be queued for
//! the next request that matches.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and a Status body.
    Status(u16),
    /// Never answer (the client's timeout must fire).
    Silence,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    log: Vec<String>,
    faults: VecDeque<(String, Fault)>,
    next_uid: u64,
    next_version: u64,
    /// Reads left before a terminating namespace is gone.
    terminating: BTreeMap<String, u32>,
    /// Requests never answered; kept so their connections stay open.
    silenced: Vec<SendResponse<Response<Body>>>,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    /// A kube client talking to this fake; the fake serves until the client is dropped.
    pub fn client(&self) -> kube::Client {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = self.clone();
        tokio::spawn(async move { fake.serve(handle).await });
        kube::Client::new(service, "default")
    }

    /// The requests so far.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// The requests so far, and forget them.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().log)
    }

    /// Queues a fault for the next request whose `METHOD path` starts with `matching`.
    pub fn fail_next(&self, matching: &str, fault: Fault) {
        self.lock().faults.push_back((matching.to_owned(), fault));
    }

    pub fn object(&self, path: &str) -> Option<Value> {
        self.lock().objects.get(path).cloned()
    }

    /// What someone with kubectl might do: delete an object behind our back.
    pub fn delete_object(&self, path: &str) {
        self.lock().objects.remove(path);
    }

    /// What someone with kubectl might do: change a field, as a new generation.
    pub fn edit_object(&self, path: &str, edit: impl FnOnce(&mut Value)) {
        let mut state = self.lock();
        let version = state.version();
        let object = state.objects.get_mut(path).expect("object to edit");
        edit(object);
        let generation = object["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
        object["metadata"]["generation"] = json!(generation);
        object["metadata"]["resourceVersion"] = json!(version);
    }

    /// The events recorded in a namespace, as (type, reason, message).
    pub fn events(&self, namespace: &str) -> Vec<(String, String, String)> {
        let prefix = format!("/api/v1/namespaces/{namespace}/events/");
        self.lock()
            .objects
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(_, e)| {
                let text = |key: &str| e[key].as_str().unwrap_or_default().to_owned();
                (text("type"), text("reason"), text("message"))
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake API lock")
    }

    async fn serve(self, mut handle: Handle<Request<Body>, Response<Body>>) {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let body = body.collect_bytes().await.expect("request body");
            let path = parts.uri.path().to_owned();
            let line = match parts.uri.query() {
                Some(query) => format!("{} {path}?{query}", parts.method),
                None => format!("{} {path}", parts.method),
            };
            let mut state = self.lock();
            state.log.push(line.clone());
            let fault = state.faults.iter().position(|(m, _)| line.starts_with(m.as_str()));
            if let Some(index) = fault {
                let (_, fault) = state.faults.remove(index).expect("queued fault");
                match fault {
                    Fault::Status(code) => send.send_response(status(code, "injected fault")),
                    Fault::Silence => state.silenced.push(send),
                }
                continue;
            }
            let body: Option<Value> = (!body.is_empty()).then(|| serde_json::from_slice(&body).expect("JSON body"));
            let response = match parts.method.as_str() {
                "PATCH" => state.apply(&path, body.expect("apply body")),
                "GET" => state.get(&path),
                "DELETE" => state.delete(&path),
                "POST" => state.create(&path, body.expect("create body")),
                other => status(405, &format!("{other} is not served by the fake")),
            };
            send.send_response(response);
        }
    }
}

fn respond(code: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).expect("status code"))
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(value).expect("JSON")))
        .expect("response")
}

fn status(code: u16, message: &str) -> Response<Body> {
    let reason = match code {
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        _ => "InternalError",
    };
    respond(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}),
    )
}

impl State {
    fn version(&mut self) -> String {
        self.next_version += 1;
        self.next_version.to_string()
    }

    fn apply(&mut self, path: &str, mut desired: Value) -> Response<Body> {
        let version = self.version();
        match self.objects.get_mut(path) {
            Some(current) => {
                let spec_changed =
                    current.get("spec") != desired.get("spec") || current.get("data") != desired.get("data");
                let changed = spec_changed || current["metadata"]["labels"] != desired["metadata"]["labels"];
                let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + i64::from(spec_changed);
                let meta = current["metadata"].clone();
                desired["metadata"]["uid"] = meta["uid"].clone();
                desired["metadata"]["generation"] = json!(generation);
                desired["metadata"]["resourceVersion"] =
                    if changed { json!(version) } else { meta["resourceVersion"].clone() };
                if let Some(status) = current.get("status") {
                    desired["status"] = status.clone();
                }
                *current = desired;
                respond(200, current)
            }
            None => {
                self.next_uid += 1;
                desired["metadata"]["uid"] = json!(format!("uid-{}", self.next_uid));
                desired["metadata"]["generation"] = json!(1);
                desired["metadata"]["resourceVersion"] = json!(version);
                self.objects.insert(path.to_owned(), desired.clone());
                respond(201, &desired)
            }
        }
    }

    fn get(&mut self, path: &str) -> Response<Body> {
        if let Some(left) = self.terminating.get_mut(path) {
            if *left == 0 {
                self.terminating.remove(path);
                self.objects.remove(path);
            } else {
                *left -= 1;
            }
        }
        let Some(object) = self.objects.get_mut(path) else {
            return status(404, "not found");
        };
        // The Deployment controller: the pods of the current generation are up.
        if object["kind"] == "Deployment" {
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let generation = object["metadata"]["generation"].clone();
            object["status"] = json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "availableReplicas": replicas,
                "readyReplicas": replicas,
            });
        }
        respond(200, object)
    }

    fn delete(&mut self, path: &str) -> Response<Body> {
        let Some(object) = self.objects.get_mut(path) else {
            return status(404, "not found");
        };
        object["metadata"]["deletionTimestamp"] = json!("2026-11-26T12:00:00Z");
        object["status"] = json!({"phase": "Terminating"});
        let answer = object.clone();
        // Everything in a namespace goes with it.
        if let Some(name) = path.strip_prefix("/api/v1/namespaces/") {
            let inside = [format!("/api/v1/namespaces/{name}/"), format!("/namespaces/{name}/")];
            self.objects.retain(|p, _| p == path || !inside.iter().any(|i| p.contains(i.as_str())));
            self.terminating.insert(path.to_owned(), 2);
        }
        respond(200, &answer)
    }

    fn create(&mut self, path: &str, mut object: Value) -> Response<Body> {
        self.next_uid += 1;
        let prefix = object["metadata"]["generateName"].as_str().unwrap_or_default().to_owned();
        let name = format!("{prefix}{}", self.next_uid);
        object["metadata"]["name"] = json!(name);
        object["metadata"]["uid"] = json!(format!("uid-{}", self.next_uid));
        self.objects.insert(format!("{path}/{name}"), object.clone());
        respond(201, &object)
    }
}
