//! Test doubles for the framework: an extension that tags payloads and
//! logs its calls, and factories that answer from a script.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::extension::Frame;
use crate::framework::member::Member;
use crate::framework::traits::{ClientFactory, Custom, ServerFactory};
use crate::header::{Param, ParamRef};

pub type Log = Arc<Mutex<Vec<String>>>;

pub fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

pub fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Appends `tag` to outgoing payloads and strips it from incoming ones
/// (PROTOCOL when it is missing); logs "name:encode", "name:decode(max)",
/// "name:drop".
pub struct Tag {
    pub name: String,
    pub tag: u8,
    pub log: Log,
    pub buf: Vec<u8>,
}

impl Tag {
    pub fn member(name: &str, tag: u8, log: &Log) -> Member<Tag> {
        Member::custom(Tag {
            name: name.into(),
            tag,
            log: log.clone(),
            buf: Vec::new(),
        })
    }
}

impl Custom for Tag {
    fn name(&self) -> &str {
        &self.name
    }

    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>> {
        self.log.lock().unwrap().push(format!("{}:encode", self.name));
        self.buf.clear();
        self.buf.extend_from_slice(frame.data);
        self.buf.push(self.tag);
        Ok(Frame {
            data: &self.buf,
            ..*frame
        })
    }

    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:decode({max_size})", self.name));
        match frame.data.split_last() {
            Some((&t, rest)) if t == self.tag => Ok(Frame { data: rest, ..*frame }),
            _ => Err(Error::protocol(format!("{} tag missing", self.name))),
        }
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(format!("{}:drop", self.name));
    }
}

/// What a scripted factory does when asked.
#[derive(Clone)]
pub enum Answer {
    /// Accept, with these response parameters (server) and this tag.
    Accept(Vec<Param>, u8),
    /// Decline with NegotiationError.
    Decline,
    /// Fail with another error.
    Fail(Error),
    /// Accept, but the extension reports this (bad) name.
    BadName(String),
}

pub struct Scripted {
    pub name: String,
    pub id: String,
    pub answer: Answer,
    pub request: Vec<Param>,
    pub log: Log,
}

pub fn p(name: &str, value: Option<&str>) -> Param {
    Param {
        name: name.into(),
        value: value.map(Into::into),
    }
}

impl Scripted {
    pub fn new(name: &str, id: &str, answer: Answer, log: &Log) -> Scripted {
        Scripted {
            name: name.into(),
            id: id.into(),
            answer,
            request: Vec::new(),
            log: log.clone(),
        }
    }

    fn run(&self, params: &[ParamRef<'_>], accepted: &[Member<Tag>]) -> Result<(Vec<Param>, Member<Tag>)> {
        let params: Vec<String> = params
            .iter()
            .map(|p| {
                let n = String::from_utf8_lossy(p.name);
                match p.value {
                    Some(v) => format!("{n}={}", String::from_utf8_lossy(v)),
                    None => n.into_owned(),
                }
            })
            .collect();
        let accepted: Vec<String> = accepted.iter().map(|e| e.name().unwrap()).collect();
        self.log.lock().unwrap().push(format!(
            "{}[{}]({}){:?}",
            self.id,
            self.name,
            params.join(";"),
            accepted
        ));
        match &self.answer {
            Answer::Accept(resp, tag) => Ok((resp.clone(), Tag::member(&self.name, *tag, &self.log))),
            Answer::Decline => Err(Error::negotiation(format!("{} declines", self.id))),
            Answer::Fail(e) => Err(e.clone()),
            Answer::BadName(n) => Ok((Vec::new(), Tag::member(n, 0, &self.log))),
        }
    }
}

impl ClientFactory<Tag> for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn get_request_params(&self) -> Result<Vec<Param>> {
        match &self.answer {
            Answer::Fail(e) => Err(e.clone()),
            _ => Ok(self.request.clone()),
        }
    }

    fn process_response_params(&self, params: &[ParamRef<'_>], accepted: &[Member<Tag>]) -> Result<Member<Tag>> {
        self.run(params, accepted).map(|(_, e)| e)
    }
}

impl ServerFactory<Tag> for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[Member<Tag>],
    ) -> Result<(Vec<Param>, Member<Tag>)> {
        self.run(params, accepted)
    }
}
