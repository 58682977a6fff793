//! The state of each open connection (its phase and since when, in one atomic word) and the
//! set of them: what the accept loop's cap and reaper read to choose which connection to
//! close. Uses only the limits of the accept loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{ConnectionLimits, EVICTION_GRACE, ROOM_WAIT};

/// Accepted, no byte received yet: its request may be on its way, so it is closed for
/// another only after [`EVICTION_GRACE`].
pub(super) const NEW: u64 = 0;
/// Some of a request head received, waiting for the rest.
pub(super) const HEAD: u64 = 1;
/// Between two requests.
pub(super) const IDLE: u64 = 2;
/// A request whose body is still arriving.
pub(super) const BODY: u64 = 3;
/// A request being served.
pub(super) const BUSY: u64 = 4;

const PHASE_SHIFT: u32 = 56;
const SINCE_MASK: u64 = (1 << PHASE_SHIFT) - 1;

pub(super) fn pack(phase: u64, since_ms: u64) -> u64 {
    (phase << PHASE_SHIFT) | (since_ms & SINCE_MASK)
}

pub(super) fn unpack(word: u64) -> (u64, u64) {
    (word >> PHASE_SHIFT, word & SINCE_MASK)
}

/// One connection as the reaper and the cap see it.
pub(super) struct Watch {
    /// The phase and since when (milliseconds from [`Conns::epoch`]), in one word so that
    /// they are always read together.
    pub(super) state: AtomicU64,
    /// The number of the connection's current request.
    pub(super) request: AtomicU64,
    /// Told when the connection must close at once.
    pub(super) close: Notify,
}

impl Watch {
    pub(super) fn phase(&self) -> u64 {
        unpack(self.state.load(Ordering::SeqCst)).0
    }

    /// From `from` to `to` at `now`, if the phase is still `from`.
    pub(super) fn shift(&self, from: u64, to: u64, now: u64) {
        let current = self.state.load(Ordering::SeqCst);
        if unpack(current).0 == from {
            let _ = self.state.compare_exchange(
                current,
                pack(to, now),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// A request head has arrived; its body is to come unless `complete`.
    pub(super) fn start_request(&self, complete: bool, now: u64) -> u64 {
        let number = self.request.fetch_add(1, Ordering::SeqCst) + 1;
        let phase = if complete { BUSY } else { BODY };
        self.state.store(pack(phase, now), Ordering::SeqCst);
        number
    }

    /// Request `number` has ended (`to` = IDLE) or its body has (`to` = BUSY), unless a
    /// later request has begun since.
    pub(super) fn end(&self, number: u64, from: &[u64], to: u64, now: u64) {
        loop {
            let current = self.state.load(Ordering::SeqCst);
            if self.request.load(Ordering::SeqCst) != number || !from.contains(&unpack(current).0) {
                return;
            }
            if self
                .state
                .compare_exchange(current, pack(to, now), Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// The open connections.
pub(super) struct Conns {
    epoch: Instant,
    pub(super) limits: ConnectionLimits,
    open: Mutex<HashMap<u64, Arc<Watch>>>,
    /// When the cap was last said to be reached (ms from `epoch`), to say it once a minute.
    cap_warned: AtomicU64,
    /// Told when a connection may have become one that can make room: read from for the
    /// first time, or ended.
    pub(super) room: Notify,
}

impl Conns {
    pub(super) fn new(limits: ConnectionLimits) -> Conns {
        Conns {
            epoch: Instant::now(),
            limits,
            open: Mutex::default(),
            cap_warned: AtomicU64::new(0),
            room: Notify::new(),
        }
    }

    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Watch>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When a connection in `phase` since `since` has had its time, if it can.
    fn deadline(&self, phase: u64, since: u64) -> Option<u64> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let l = &self.limits;
        match phase {
            NEW | HEAD => Some(since.saturating_add(ms(l.header_read))),
            IDLE => Some(since.saturating_add(ms(l.keepalive))),
            // A second more than the body's own deadline: a handler that reads the body
            // answers 408 first; this closes a connection whose body nobody reads.
            BODY => Some(since.saturating_add(ms(l.body_read) + 1000)),
            _ => None,
        }
    }

    /// Closes every connection past its time; returns how many.
    pub(super) fn reap(&self) -> usize {
        let now = self.now();
        let mut open = self.lock();
        let before = open.len();
        open.retain(|_, w| {
            let (phase, since) = unpack(w.state.load(Ordering::SeqCst));
            let late = self.deadline(phase, since).is_some_and(|d| now >= d);
            if late {
                w.close.notify_one();
            }
            !late
        });
        before - open.len()
    }

    /// Makes room for one more connection at the cap at `now`: closes the one that has
    /// waited longest for a request, else the oldest still sending a body. A connection
    /// that has sent nothing yet is left [`EVICTION_GRACE`] for its first bytes. False when
    /// none can go.
    fn make_room(open: &mut HashMap<u64, Arc<Watch>>, now: u64) -> bool {
        let grace = u64::try_from(EVICTION_GRACE.as_millis()).unwrap_or(u64::MAX);
        let oldest = |phases: &[u64]| {
            open.iter()
                .filter_map(|(id, w)| {
                    let (phase, since) = unpack(w.state.load(Ordering::SeqCst));
                    let young = phase == NEW && now.saturating_sub(since) < grace;
                    (phases.contains(&phase) && !young).then_some((since, *id))
                })
                .min()
                .map(|(_, id)| id)
        };
        let Some(id) = oldest(&[NEW, HEAD, IDLE]).or_else(|| oldest(&[BODY])) else {
            return false;
        };
        if let Some(w) = open.remove(&id) {
            w.close.notify_one();
        }
        true
    }

    /// Registers a new connection, closing another one at the cap; `None` when none can
    /// be closed for it.
    pub(super) fn admit(&self, id: u64) -> Option<Arc<Watch>> {
        let now = self.now();
        let mut open = self.lock();
        if open.len() >= self.limits.max_connections {
            let last = self.cap_warned.load(Ordering::Relaxed);
            if last == 0 || now.saturating_sub(last) >= 60_000 {
                self.cap_warned.store(now.max(1), Ordering::Relaxed);
                tracing::warn!(
                    "{} connections open, the most at once (max_connections): closing the \
                     ones that wait longest for a request to take new ones",
                    open.len()
                );
            }
            if !Self::make_room(&mut open, now) {
                return None;
            }
        }
        let watch = Arc::new(Watch {
            state: AtomicU64::new(pack(NEW, now)),
            request: AtomicU64::new(0),
            close: Notify::new(),
        });
        open.insert(id, watch.clone());
        Some(watch)
    }

    pub(super) fn forget(&self, id: u64) {
        self.lock().remove(&id);
        self.room.notify_one();
    }

    /// [`Conns::admit`], waiting a little for room when every connection is new or serving
    /// (a burst of accepts outruns the connections' first reads).
    pub(super) async fn admit_soon(&self, id: u64) -> Option<Arc<Watch>> {
        let waited = Instant::now();
        loop {
            if let Some(watch) = self.admit(id) {
                return Some(watch);
            }
            let left = ROOM_WAIT.checked_sub(waited.elapsed())?;
            // Told when a connection is first read from or ends; a request growing old
            // enough to go is seen by looking again.
            let look = left.min(Duration::from_millis(50));
            let _ = tokio::time::timeout(look, self.room.notified()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(max_connections: usize) -> Conns {
        Conns {
            epoch: Instant::now(),
            limits: ConnectionLimits {
                max_connections,
                header_read: Duration::from_secs(10),
                keepalive: Duration::from_secs(60),
                body_read: Duration::from_secs(60),
            },
            open: Mutex::default(),
            cap_warned: AtomicU64::new(0),
            room: Notify::new(),
        }
    }

    /// Connections whose clock has run for `seconds` already.
    fn conns_at(max_connections: usize, seconds: u64) -> Conns {
        Conns {
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(seconds))
                .unwrap_or_else(Instant::now),
            ..conns(max_connections)
        }
    }

    #[test]
    fn at_the_cap_the_longest_waiting_for_a_request_makes_room() {
        let c = conns_at(3, 5);
        let a = c.admit(1).expect("room");
        let b = c.admit(2).expect("room");
        let d = c.admit(3).expect("room");
        // b waits for a head since 5, a serves a request, d is idle since 9.
        a.state.store(pack(BUSY, 1), Ordering::SeqCst);
        b.state.store(pack(HEAD, 5), Ordering::SeqCst);
        d.state.store(pack(IDLE, 9), Ordering::SeqCst);
        assert!(c.admit(4).is_some());
        assert!(!c.lock().contains_key(&2), "the oldest waiting one goes");
        // Another: d (idle) goes before anything serving; the new one (never read) stays.
        assert!(c.admit(5).is_some());
        assert!(!c.lock().contains_key(&3));
        assert!(c.lock().contains_key(&4));
        // Now 1 serves and 4, 5 were never read from: nothing can make room.
        assert!(c.admit(6).is_none());
        // A body still arriving can.
        a.state.store(pack(BODY, 2), Ordering::SeqCst);
        assert!(c.admit(7).is_some());
        assert!(!c.lock().contains_key(&1));
    }

    #[test]
    fn a_connection_that_has_sent_nothing_yet_keeps_its_chance() {
        let c = conns_at(2, 5);
        let silent = c.admit(1).expect("room");
        let serving = c.admit(2).expect("room");
        let now = c.now();
        serving.state.store(pack(BUSY, now), Ordering::SeqCst);
        assert!(
            c.admit(3).is_none(),
            "one silent within the grace, one serving"
        );
        // Its first bytes, not a whole head: it may go at once.
        silent.state.store(pack(HEAD, now), Ordering::SeqCst);
        assert!(c.admit(3).is_some());
        assert!(!c.lock().contains_key(&1));
        // Silent past the grace, it may go too.
        assert!(c.admit(4).is_none(), "3 is new, 2 serves");
        c.lock()
            .get(&3)
            .expect("3")
            .state
            .store(pack(NEW, now - 1500), Ordering::SeqCst);
        assert!(c.admit(4).is_some());
        assert!(!c.lock().contains_key(&3));
    }

    #[test]
    fn a_later_request_is_not_ended_by_an_earlier_one() {
        let c = conns(1);
        let w = c.admit(1).expect("room");
        let first = w.start_request(false, 10);
        let second = w.start_request(true, 20);
        w.end(first, &[BODY, BUSY], IDLE, 30);
        assert_eq!(unpack(w.state.load(Ordering::SeqCst)), (BUSY, 20));
        w.end(second, &[BODY, BUSY], IDLE, 40);
        assert_eq!(unpack(w.state.load(Ordering::SeqCst)), (IDLE, 40));
    }

    #[test]
    fn only_connections_past_their_time_are_reaped() {
        let c = conns(10);
        let slow = c.admit(1).expect("room");
        let busy = c.admit(2).expect("room");
        slow.state.store(pack(HEAD, 0), Ordering::SeqCst);
        busy.state.store(pack(BUSY, 0), Ordering::SeqCst);
        assert_eq!(c.deadline(HEAD, 0), Some(10_000));
        assert_eq!(c.deadline(BUSY, 0), None);
        // The clock of the test is the epoch's: nothing is 10 s old yet.
        assert_eq!(c.reap(), 0);
        let c = conns_at(10, 11);
        let slow = c.admit(1).expect("room");
        let busy = c.admit(2).expect("room");
        slow.state.store(pack(HEAD, 0), Ordering::SeqCst);
        busy.state.store(pack(BUSY, 0), Ordering::SeqCst);
        assert_eq!(c.reap(), 1);
        assert!(c.lock().contains_key(&2));
    }
}
