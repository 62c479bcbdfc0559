//! A small authoritative DNS server on a loopback UDP port, serving TXT and CNAME
//! records from a zone the test changes while it runs. The control plane's domain
//! checks are pointed at it with `dns_servers`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

type Zone = HashMap<(String, RecordType), Vec<RData>>;

/// The server; it stops when dropped.
pub struct TestDns {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    task: JoinHandle<()>,
}

impl TestDns {
    pub async fn start() -> TestDns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind the DNS socket");
        let addr = socket.local_addr().expect("DNS address");
        let zone = Arc::new(Mutex::new(Zone::new()));
        let task = tokio::spawn(serve(socket, zone.clone()));
        TestDns { addr, zone, task }
    }

    /// `host:port`, as the `dns_servers` setting takes it.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    fn key(name: &str, kind: RecordType) -> (String, RecordType) {
        (name.trim_end_matches('.').to_ascii_lowercase(), kind)
    }

    pub fn add_txt(&self, name: &str, value: &str) {
        let data = RData::TXT(TXT::new(vec![value.to_owned()]));
        self.zone.lock().unwrap().entry(Self::key(name, RecordType::TXT)).or_default().push(data);
    }

    pub fn set_cname(&self, name: &str, target: &str) {
        let target = Name::from_ascii(format!("{}.", target.trim_end_matches('.'))).expect("CNAME target");
        self.zone.lock().unwrap().insert(Self::key(name, RecordType::CNAME), vec![RData::CNAME(CNAME(target))]);
    }

    /// Removes every record of this type at the name.
    pub fn remove(&self, name: &str, kind: RecordType) {
        self.zone.lock().unwrap().remove(&Self::key(name, kind));
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(socket: UdpSocket, zone: Arc<Mutex<Zone>>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else { continue };
        let Ok(request) = Message::from_vec(&buffer[..length]) else { continue };
        if request.metadata.message_type != MessageType::Query {
            continue;
        }
        let response = answer(&request, &zone.lock().unwrap());
        if let Ok(bytes) = response.to_vec() {
            let _ = socket.send_to(&bytes, peer).await;
        }
    }
}

/// Answers like an authoritative server: the records of the asked type, an empty
/// answer if the name has only other records, NXDOMAIN if it has none.
fn answer(request: &Message, zone: &Zone) -> Message {
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    for query in &request.queries {
        response.add_query(query.clone());
        let name = query.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
        match zone.get(&(name.clone(), query.query_type())) {
            Some(records) => {
                for data in records {
                    response.add_answer(Record::from_rdata(query.name().clone(), 0, data.clone()));
                }
            }
            None if zone.keys().any(|(existing, _)| *existing == name) => {}
            None => response.metadata.response_code = ResponseCode::NXDomain,
        }
    }
    response
}
