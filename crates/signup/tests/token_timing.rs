//! A confirmation token guessed by timing: how long `token_matches` takes must not depend on
//! where a wrong token first differs from the stored one, or a guesser could find it a
//! character at a time.
//!
//! Why the proof is here and not over HTTP: a 43-character token compared with `==` leaks a
//! few nanoseconds (memcmp looks at it in a handful of instructions), under a DynamoDB read and
//! a network round trip that vary by milliseconds; a test over HTTP could not fail, whatever the
//! comparison. The property does not depend on the length, so this measures it on 64 KiB values,
//! where an early exit is thousands of times faster than a full pass. The same measurement of
//! `==` (the control) must see that difference, so a regression to an early-exit comparison
//! fails the test, and the control failing says the machine was too disturbed to tell.

use std::hint::black_box;
use std::time::Instant;

use signup::rules::token_matches;

/// Long enough for an early exit to be measurable in a debug build on a loaded machine.
const LENGTH: usize = 64 * 1024;
/// Rounds of both guesses; the median of each side is compared, so a burst of load in a few
/// rounds moves neither.
const ROUNDS: usize = 41;
const CALLS_PER_SAMPLE: usize = 3;

/// A stored value in the token alphabet, and two guesses of its length: wrong at the first
/// character and wrong at the last.
fn stored_and_guesses() -> (String, String, String) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let stored: String = (0..LENGTH)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(ALPHABET[(state % 64) as usize])
        })
        .collect();
    let flip = |c: char| if c == 'A' { 'B' } else { 'A' };
    let mut first = stored.clone();
    first.replace_range(0..1, &flip(stored.chars().next().unwrap_or('A')).to_string());
    let mut last = stored.clone();
    last.replace_range(LENGTH - 1.., &flip(stored.chars().last().unwrap_or('A')).to_string());
    (stored, first, last)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The median nanoseconds per call for the guess wrong at the first character and for the one
/// wrong at the last; the two are measured in alternating order, round after round.
fn medians(compare: impl Fn(&str, &str) -> bool) -> (f64, f64) {
    let (stored, first, last) = stored_and_guesses();
    let (mut early, mut late) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    let sample = |guess: &str| {
        let started = Instant::now();
        for _ in 0..CALLS_PER_SAMPLE {
            assert!(!black_box(compare(black_box(&stored), black_box(guess))), "a wrong guess matched");
        }
        started.elapsed().as_nanos() as f64 / CALLS_PER_SAMPLE as f64
    };
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            early.push(sample(&first));
            late.push(sample(&last));
        } else {
            late.push(sample(&last));
            early.push(sample(&first));
        }
    }
    (median(early), median(late))
}

#[test]
fn a_wrong_token_takes_as_long_to_refuse_wherever_it_differs() {
    let (eq_early, eq_late) = medians(|stored, guess| stored == guess);
    assert!(
        eq_late > 2.0 * eq_early,
        "the control: `==` stops at the first difference, and this measurement must see it \
         ({eq_early:.0} ns wrong at the first character, {eq_late:.0} ns at the last)"
    );
    let (early, late) = medians(token_matches);
    let gap = (early - late).abs() / early.min(late);
    assert!(
        gap < 0.25,
        "token_matches takes {early:.0} ns for a token wrong at the first character and {late:.0} ns \
         for one wrong at the last: {:.0}% apart (`==` was {:.0}x)",
        gap * 100.0,
        eq_late / eq_early
    );
}

#[test]
fn tokens_of_another_length_are_refused_without_comparing_bytes() {
    // Lengths are public (every token has 43 characters), so refusing a wrong length at once
    // leaks nothing; this pins that a prefix of the token is not taken for it.
    let (stored, _, _) = stored_and_guesses();
    assert!(token_matches(&stored, &stored));
    assert!(!token_matches(&stored, &stored[..LENGTH - 1]));
    assert!(!token_matches(&stored[..43], &stored[..42]));
}
