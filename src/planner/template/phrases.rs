//! Every phrase the template planner's rules look for, found in one scan of the item's
//! text instead of one scan of the whole text per phrase and rule: which groups of phrases
//! the lowercased text holds, and the places of the phrases whose place matters (an invoice
//! to post, a client's purchase order). The scan is an Aho-Corasick automaton over all the
//! phrases, built once as a table of the next state for each state and byte: one lookup a
//! byte. The phrases are ASCII.

use std::collections::VecDeque;
use std::sync::LazyLock;

/// A group of phrases: a rule asks whether the lowercased text holds any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    /// How a client asks for an invoice.
    InvoiceRequest,
    /// Words of a bill, of a statement.
    Billish,
    /// How a supplier's bill says it is one.
    SaysBill,
    /// How an item asks to pay.
    Pay,
    /// A payment that comes again.
    Recurring,
    Linkedin,
    Instagram,
    Facebook,
    /// X (Twitter).
    X,
    /// A post on no platform named.
    SocialMedia,
    /// How an item asks for a post.
    PostWords,
    /// How a message asks for an answer.
    Asks,
}

/// The phrases of each group (each group's bit is `1 << group as u32`).
const GROUPS: &[(Group, &[&str])] = &[
    (
        Group::InvoiceRequest,
        &[
            "invoice us",
            "invoice for",
            "send an invoice",
            "send us an invoice",
            "send me an invoice",
            "please invoice",
            "bill us",
            "invoice me",
        ],
    ),
    (Group::Billish, &["invoice", "bill", "receipt", "statement"]),
    (
        Group::SaysBill,
        &[
            "our invoice",
            "attached invoice",
            "invoice attached",
            "bill attached",
            "attached bill",
            "amount due",
            "balance due",
            "total due",
            "payment due",
            "invoice from",
            "bill from",
            "please find attached our",
        ],
    ),
    (
        Group::Pay,
        &[
            "please pay",
            "pay ",
            "payment to",
            "payment of",
            "transfer",
            "settle",
            "wire",
        ],
    ),
    (
        Group::Recurring,
        &[
            "monthly",
            "recurring",
            "subscription",
            "every month",
            "annual",
            "renewal",
        ],
    ),
    (Group::Linkedin, &["linkedin"]),
    (Group::Instagram, &["instagram"]),
    (Group::Facebook, &["facebook"]),
    (Group::X, &["tweet", "twitter", " on x"]),
    (Group::SocialMedia, &["social media", "post about"]),
    (
        Group::PostWords,
        &["post", "tweet", "share", "announce", "publish"],
    ),
    (
        Group::Asks,
        &[
            "please reply",
            "let me know",
            "can you",
            "could you",
            "would you",
            "please confirm",
            "get back to",
            "please send",
            "i need",
            "help",
        ],
    ),
];

/// The verbs of asking to post an existing invoice, in the order they are tried.
pub(super) const POST_VERBS: [&str; 4] = ["post", "send", "confirm", "validate"];
/// What follows such a verb before the invoice's number, in the order they are tried.
pub(super) const POST_NOUNS: [&str; 4] = [
    " invoice ",
    " the invoice ",
    " invoice no. ",
    " invoice number ",
];
/// How a client names a purchase order in running text, in the order they are tried.
pub(super) const PO_MARKERS: [&str; 4] = ["purchase order ", "po number ", "po #", "po "];

/// A phrase whose place in the text matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Place {
    /// `POST_VERBS[verb]` then `POST_NOUNS[noun]`.
    PostInvoice { verb: u8, noun: u8 },
    /// `PO_MARKERS[marker]`.
    PurchaseOrder { marker: u8 },
}

impl Place {
    /// The phrase found at this place.
    pub(super) fn phrase(self) -> String {
        match self {
            Place::PostInvoice { verb, noun } => {
                format!("{}{}", POST_VERBS[verb as usize], POST_NOUNS[noun as usize])
            }
            Place::PurchaseOrder { marker } => PO_MARKERS[marker as usize].to_string(),
        }
    }
}

/// What one phrase of the automaton stands for.
struct Meaning {
    /// Its length in bytes.
    len: usize,
    /// The groups it belongs to, one bit each.
    groups: u32,
    place: Option<Place>,
}

/// How many classes of bytes the automaton tells apart: each byte some phrase holds, and
/// every other byte (class 0). A state's number is a multiple of it.
const CLASSES: usize = 32;

/// The automaton over every phrase, and what each phrase means.
struct Phrasebook {
    /// The class of each byte.
    class: [u8; 256],
    /// The next state, at the state's number plus the byte's class. Any index a `u16`
    /// makes is in the table: a step needs no bounds check.
    next: Box<[u16; 1 << 16]>,
    /// The first state where a phrase ends: the states from it on are those.
    first_end: u16,
    /// The phrases that end in each of those states, in order.
    ends: Vec<Vec<usize>>,
    /// For each state (its number over [`CLASSES`]): the groups of the phrases that end in
    /// it, and [`HAS_PLACE`] when one of them has a place. Read at every byte, without a
    /// branch: most states of a text are in no phrase's end.
    ending: Box<[u32; (1 << 16) / CLASSES]>,
    /// The length of the longest phrase.
    longest: usize,
    meanings: Vec<Meaning>,
}

/// The bit of [`Phrasebook::ending`] that says a phrase whose place matters ends there (no
/// group has it).
const HAS_PLACE: u32 = 1 << 31;

impl Phrasebook {
    /// The automaton over `phrases` (Aho-Corasick's: a trie of the phrases, each state's
    /// failure link to the longest suffix of it that is a state too, and each missing step
    /// taken from there), with what each means.
    fn new(phrases: &[String], meanings: Vec<Meaning>) -> Phrasebook {
        const NONE: usize = usize::MAX;
        let mut class = [0u8; 256];
        let mut classes = 1;
        for b in phrases.iter().flat_map(|p| p.bytes()) {
            assert!(
                !b.is_ascii_uppercase(),
                "invariant: the phrases are lowercase"
            );
            if class[usize::from(b)] == 0 {
                class[usize::from(b)] = classes;
                classes += 1;
            }
        }
        // An ASCII capital reads as its small letter: the scan of a text is the scan of
        // the text with its ASCII letters lowercased.
        for b in b'A'..=b'Z' {
            class[usize::from(b)] = class[usize::from(b.to_ascii_lowercase())];
        }
        assert!(
            usize::from(classes) <= CLASSES,
            "invariant: the phrases hold few bytes"
        );
        let mut goto: Vec<[usize; CLASSES]> = vec![[NONE; CLASSES]];
        let mut ends: Vec<Vec<usize>> = vec![Vec::new()];
        for (n, p) in phrases.iter().enumerate() {
            let mut s = 0;
            for b in p.bytes() {
                let c = usize::from(class[usize::from(b)]);
                if goto[s][c] == NONE {
                    goto.push([NONE; CLASSES]);
                    ends.push(Vec::new());
                    goto[s][c] = goto.len() - 1;
                }
                s = goto[s][c];
            }
            ends[s].push(n);
        }
        // Breadth first: a failure link goes to a shallower state, complete by then.
        let mut fail = vec![0; goto.len()];
        let mut queue = VecDeque::new();
        for step in goto[0].iter_mut() {
            match *step {
                NONE => *step = 0,
                u => queue.push_back(u),
            }
        }
        while let Some(r) = queue.pop_front() {
            // The failure state's row, complete (it is shallower) and not changed here.
            let fail_row = goto[fail[r]];
            for (step, from_fail) in goto[r].iter_mut().zip(fail_row) {
                match *step {
                    NONE => *step = from_fail,
                    u => {
                        fail[u] = from_fail;
                        // The phrases that end at the suffix end here too.
                        let inherited = ends[from_fail].clone();
                        ends[u].extend(inherited);
                        queue.push_back(u);
                    }
                }
            }
        }
        // Numbered with the states where a phrase ends last.
        let mut order: Vec<usize> = (0..goto.len()).filter(|&s| ends[s].is_empty()).collect();
        let first_end = order.len();
        order.extend((0..goto.len()).filter(|&s| !ends[s].is_empty()));
        assert!(
            order.len() * CLASSES <= 1 << 16,
            "invariant: the states fit in the table"
        );
        let mut number = vec![0u16; goto.len()];
        for (n, &s) in order.iter().enumerate() {
            number[s] = (n * CLASSES) as u16;
        }
        let mut next: Box<[u16; 1 << 16]> = vec![0u16; 1 << 16]
            .into_boxed_slice()
            .try_into()
            .expect("invariant: the table's length");
        for (n, &s) in order.iter().enumerate() {
            for c in 0..CLASSES {
                next[n * CLASSES + c] = number[goto[s][c]];
            }
        }
        let mut ending: Box<[u32; (1 << 16) / CLASSES]> = vec![0; (1 << 16) / CLASSES]
            .into_boxed_slice()
            .try_into()
            .expect("invariant: the table's length");
        for (n, &s) in order.iter().enumerate() {
            ending[n] = ends[s].iter().fold(0, |bits, &m| {
                let meaning: &Meaning = &meanings[m];
                bits | meaning.groups
                    | if meaning.place.is_some() {
                        HAS_PLACE
                    } else {
                        0
                    }
            });
        }
        Phrasebook {
            class,
            next,
            first_end: (first_end * CLASSES) as u16,
            ends: order[first_end..]
                .iter()
                .map(|&s| std::mem::take(&mut ends[s]))
                .collect(),
            ending,
            longest: phrases.iter().map(String::len).max().unwrap_or(0),
            meanings,
        }
    }

    /// The groups of every phrase found in `hay`, and (when `places` is given) the start
    /// and place of each phrase whose place matters, overlapping ones included.
    ///
    /// A long text is read as two streams, a byte of each per step: a step waits for the
    /// state the step before it reached, and two independent steps take about the time of
    /// one. The second stream starts `longest` bytes before the text's second half, so by
    /// the half its state is what one stream's would be there (no phrase is longer); what
    /// it finds before the half the first stream finds too, and is left to it.
    fn scan(&self, hay: &str, mut places: Option<&mut Vec<(usize, Place)>>) -> u32 {
        let (next, class, ending) = (&*self.next, &self.class, &*self.ending);
        // The next state, and the bits of what ends in it.
        let step = |s: u16, b: u8| {
            let s = next[usize::from(s | u16::from(class[usize::from(b)]))];
            (s, ending[usize::from(s) / CLASSES])
        };
        let mut place_at = |s: u16, end: usize| {
            if let Some(places) = places.as_deref_mut() {
                self.ended(s, end, &mut |at, meaning| {
                    if let Some(place) = meaning.place {
                        places.push((at, place));
                    }
                });
            }
        };
        let bytes = hay.as_bytes();
        let half = bytes.len() / 2;
        let mut groups = 0;
        // The second stream's state and place (the only stream's, on a short text).
        let (mut s, mut i) = (0u16, 0);
        if half >= 2 * self.longest {
            let first = &bytes[..half];
            let from = half - self.longest;
            let second = &bytes[from..from + half];
            let mut sa = 0u16;
            let mut k = 0;
            while k < half {
                // Up to the next end of a phrase whose place matters, in either stream: the
                // loop holds the states, the bytes and the groups, and one rare branch.
                let (mut ba, mut bb) = (0, 0);
                for (&x, &y) in first[k..].iter().zip(&second[k..]) {
                    (sa, ba) = step(sa, x);
                    (s, bb) = step(s, y);
                    groups |= ba | bb;
                    k += 1;
                    if (ba | bb) & HAS_PLACE != 0 {
                        break;
                    }
                }
                if ba & HAS_PLACE != 0 {
                    place_at(sa, k - 1);
                }
                if bb & HAS_PLACE != 0 && from + k > half {
                    place_at(s, from + k - 1);
                }
            }
            i = from + half;
        }
        while i < bytes.len() {
            let mut bits = 0;
            for &b in &bytes[i..] {
                (s, bits) = step(s, b);
                groups |= bits;
                i += 1;
                if bits & HAS_PLACE != 0 {
                    break;
                }
            }
            if bits & HAS_PLACE != 0 {
                place_at(s, i - 1);
            }
        }
        groups & !HAS_PLACE
    }

    /// Calls `each` with the phrases that end at `end`, in state `s`.
    #[inline(never)]
    fn ended(&self, s: u16, end: usize, each: &mut impl FnMut(usize, &Meaning)) {
        for &m in &self.ends[usize::from(s - self.first_end) / CLASSES] {
            let meaning = &self.meanings[m];
            each(end + 1 - meaning.len, meaning);
        }
    }
}

static PHRASEBOOK: LazyLock<Phrasebook> = LazyLock::new(|| {
    let mut phrases: Vec<String> = Vec::new();
    let mut meanings: Vec<Meaning> = Vec::new();
    let mut add = |p: String, group: Option<Group>, place: Option<Place>| {
        let n = match phrases.iter().position(|q| *q == p) {
            Some(n) => n,
            None => {
                meanings.push(Meaning {
                    len: p.len(),
                    groups: 0,
                    place: None,
                });
                phrases.push(p);
                phrases.len() - 1
            }
        };
        if let Some(g) = group {
            meanings[n].groups |= 1 << g as u32;
        }
        if place.is_some() {
            meanings[n].place = place;
        }
    };
    for (group, phrases) in GROUPS {
        for p in *phrases {
            add(p.to_string(), Some(*group), None);
        }
    }
    for verb in 0..POST_VERBS.len() {
        for noun in 0..POST_NOUNS.len() {
            let place = Place::PostInvoice {
                verb: verb as u8,
                noun: noun as u8,
            };
            add(place.phrase(), None, Some(place));
        }
    }
    for marker in 0..PO_MARKERS.len() {
        let place = Place::PurchaseOrder {
            marker: marker as u8,
        };
        add(place.phrase(), None, Some(place));
    }
    Phrasebook::new(&phrases, meanings)
});

/// The phrases found in an item's text (see the module's header).
#[derive(Debug, Default)]
pub(super) struct Found {
    groups: u32,
    /// Each phrase whose place matters, with where it starts in the text, in the text's
    /// order (and in [`Place`]'s order at one place).
    places: Vec<(usize, Place)>,
}

impl Found {
    /// What the rules look for in `text`. The groups are read in `text.to_lowercase()`;
    /// the places in `text` with its ASCII letters lowercased, which keeps the text's byte
    /// offsets (full lowercasing changes the length of some letters, `İ` to `i̇`). The
    /// automaton reads an ASCII capital as its small letter, so it reads `text` itself for
    /// both when `text` is ASCII (the usual case), and for the places always.
    pub(super) fn in_text(text: &str) -> Found {
        let book = &*PHRASEBOOK;
        let mut found = Found::default();
        let groups = book.scan(text, Some(&mut found.places));
        found.groups = match text.is_ascii() {
            true => groups,
            false => book.scan(&text.to_lowercase(), None),
        };
        found.places.sort_unstable();
        found
    }

    /// Whether the lowercased text holds a phrase of `group`.
    pub(super) fn any(&self, group: Group) -> bool {
        self.groups & (1 << group as u32) != 0
    }

    /// Where `place`'s phrase starts in the text, first to last.
    pub(super) fn places(&self, place: Place) -> impl Iterator<Item = usize> + '_ {
        self.places
            .iter()
            .filter(move |(_, p)| *p == place)
            .map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `found` is what a scan per phrase finds in `text`: each group, each place.
    fn same_as_a_scan_per_phrase(text: &str, found: &Found) {
        let lower = text.to_lowercase();
        for (g, phrases) in GROUPS {
            let want = phrases.iter().any(|p| lower.contains(p));
            assert_eq!(found.any(*g), want, "{g:?} in {text:?}");
        }
        let aligned = text.to_ascii_lowercase();
        let mut places: Vec<Place> = (0..16)
            .map(|i| Place::PostInvoice {
                verb: i / 4,
                noun: i % 4,
            })
            .collect();
        places.extend((0..4).map(|marker| Place::PurchaseOrder { marker }));
        for place in places {
            let want: Vec<usize> = aligned
                .match_indices(&place.phrase())
                .map(|(at, _)| at)
                .collect();
            let got: Vec<usize> = found.places(place).collect();
            assert_eq!(got, want, "{place:?} in {text:?}");
        }
    }

    proptest::proptest! {
        /// Texts made of the phrases, pieces of them and other letters: overlapping
        /// phrases, one inside another, one at the end of another.
        #[test]
        fn one_scan_finds_every_phrase_in_any_text(
            parts in proptest::collection::vec(
                "(please pay |pay |our invoice |invoice |bill |po #|po number |po |post the invoice |post invoice |send |i need help|tweet|retweeting|on x| |İ|\u{212A}|[a-z]{1,3}|\\PC{0,3})",
                0..30,
            )
        ) {
            let text = parts.concat();
            same_as_a_scan_per_phrase(&text, &Found::in_text(&text));
        }
    }

    /// One scan finds what a scan per phrase finds: each group, and each place.
    #[test]
    fn one_scan_finds_what_a_scan_per_phrase_finds() {
        let texts = [
            "",
            "Please invoice us for $1,500. PO 4411, po #7 and purchase order 9",
            "Post the invoice INV/1 then send invoice 2; confirm invoice no. 3, validate invoice number 4",
            "postpost invoice x post invoice y",
            "Tweet it on X! Share on LinkedIn, Instagram and Facebook: social media.",
            "I need help: could you let me know? Monthly subscription renewal, settle the wire transfer",
            "İİ \u{212A}elvin PO 12 post invoice 7 LIN\u{212A}EDIN",
            "payment due: our invoice from ACME, bill attached; the statement and receipt",
        ];
        for text in texts {
            same_as_a_scan_per_phrase(text, &Found::in_text(text));
        }
        // A long text is read as two streams: phrases at every place around where the second
        // starts and where its half begins are found once each.
        for at in 0..140 {
            let text = format!(
                "{}Please find attached our post invoice 7, PO 12.{}",
                "x ".repeat(at / 2) + &"z".repeat(at % 2),
                " tail".repeat(25)
            );
            same_as_a_scan_per_phrase(&text, &Found::in_text(&text));
        }
        // The Kelvin sign lowercases to `k`: a group is read in the full lowercase.
        let text = "LIN\u{212A}EDIN";
        assert!(Found::in_text(text).any(Group::Linkedin));
    }
}
