//! A tiny authoritative DNS server on 127.0.0.1 (UDP) for the tracking-domain tests: it
//! answers CNAME and TXT queries from records the test sets and changes, so verification runs a
//! real DNS lookup without asking anyone outside (`BEACON_DNS_SERVER` points Beacon at it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{CNAME, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

type Zone = Arc<Mutex<HashMap<String, Vec<RData>>>>;

pub struct DnsFixture {
    pub addr: SocketAddr,
    zone: Zone,
    task: tokio::task::JoinHandle<()>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsFixture {
    pub async fn start() -> DnsFixture {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone: Zone = Arc::default();
        let answers = zone.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                if let Some(reply) = answer(&answers, &buf[..n]) {
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
        });
        DnsFixture { addr, zone, task }
    }

    pub fn cname(&self, name: &str, target: &str) {
        let target = Name::from_ascii(format!("{}.", key(target))).unwrap();
        self.add(name, RData::CNAME(CNAME(target)));
    }

    pub fn txt(&self, name: &str, text: &str) {
        self.add(name, RData::TXT(TXT::new(vec![text.to_string()])));
    }

    /// Removes every record of `name` (it stops resolving).
    pub fn clear(&self, name: &str) {
        self.zone.lock().unwrap().remove(&key(name));
    }

    fn add(&self, name: &str, data: RData) {
        self.zone
            .lock()
            .unwrap()
            .entry(key(name))
            .or_default()
            .push(data);
    }
}

impl Drop for DnsFixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The reply to one query: the name's records of the asked type; NOERROR with no answer when
/// the name has others; NXDOMAIN when it has none.
fn answer(zone: &Zone, query: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    let q = request.queries.first()?.clone();
    let records = zone
        .lock()
        .unwrap()
        .get(&key(&q.name().to_ascii()))
        .cloned();
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(q.clone());
    match records {
        None => reply.metadata.response_code = ResponseCode::NXDomain,
        Some(records) => {
            for data in records {
                let kind = match &data {
                    RData::CNAME(_) => RecordType::CNAME,
                    _ => RecordType::TXT,
                };
                if kind == q.query_type() {
                    reply.add_answer(Record::from_rdata(q.name().clone(), 0, data));
                }
            }
        }
    }
    reply.to_vec().ok()
}
