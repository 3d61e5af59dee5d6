//! Mutations of real inputs, drawn by proptest: cuts, repeats, splices and the tokens each
//! reader gives meaning to, so that most mutants still look like a page or a spec.

use proptest::prelude::*;

/// The largest input a mutant may grow to: the size the budgets are set for.
pub const MAX_INPUT: usize = 1 << 20;

/// Text the readers give meaning to: table and nesting markers of the three page layouts,
/// markdown, curl, JSON and YAML syntax, and characters that have broken readers before.
pub const TOKENS: &[&str] = &[
    "|",
    "\n",
    "\n\n",
    "| 项目 | 值 |",
    "| --- | --- |",
    "&nbsp;&nbsp;",
    "&nbsp;&nbsp;└ ",
    "∟",
    "|基本| |",
    "<br>",
    "<br>- `open_id`: x",
    "`",
    "```",
    "```json\n{",
    "[",
    "](",
    "](https://open.feishu.cn/",
    "\\[\\]",
    "[]",
    "object",
    "map<string, ",
    "> **Tip**:",
    "**",
    "&#124;",
    "\u{FFFD}",
    "\u{F8FF}",
    "\r",
    "\t",
    "---\n",
    "fullPath: /",
    "HTTP URL",
    "HTTP Method",
    "POST",
    "/open-apis/",
    ":",
    "--data-raw '",
    "curl -X PATCH",
    "'",
    "\"",
    "{",
    "}",
    ",",
    "null",
    ": ",
    "- ",
    "  ",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "~",
    "| ",
    "> ",
    "\\",
    "%",
    "0x",
    "-1",
    "18446744073709551616",
];

/// One change to an input. Places are fractions of the input's length (`u32::MAX` is its
/// end), so a mutation fits any seed.
#[derive(Clone, Debug)]
pub enum Mutation {
    Delete {
        at: u32,
        len: u16,
    },
    Repeat {
        at: u32,
        len: u16,
        times: u16,
    },
    Insert {
        at: u32,
        token: usize,
        times: u16,
    },
    Splice {
        at: u32,
        from: usize,
        from_at: u32,
        len: u16,
    },
    SwapLines {
        a: u32,
        b: u32,
    },
    Truncate {
        at: u32,
    },
}

/// A fuzz case: which seed, and what is done to it.
#[derive(Clone, Debug)]
pub struct Case {
    pub seed: usize,
    pub mutations: Vec<Mutation>,
}

/// Cases over `seeds` seeds: one to eight mutations each.
pub fn cases(seeds: usize) -> impl Strategy<Value = Case> {
    let seeds = seeds.max(1);
    let mutation = prop_oneof![
        (any::<u32>(), 1..512u16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<u32>(), 1..256u16, 1..4096u16).prop_map(|(at, len, times)| Mutation::Repeat {
            at,
            len,
            times
        }),
        (
            any::<u32>(),
            0..TOKENS.len(),
            prop_oneof![Just(1u16), 1..64u16, 1..20_000u16]
        )
            .prop_map(|(at, token, times)| Mutation::Insert { at, token, times }),
        (any::<u32>(), 0..seeds, any::<u32>(), 1..2048u16).prop_map(|(at, from, from_at, len)| {
            Mutation::Splice {
                at,
                from,
                from_at,
                len,
            }
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        any::<u32>().prop_map(|at| Mutation::Truncate { at }),
    ];
    (0..seeds, proptest::collection::vec(mutation, 1..8))
        .prop_map(|(seed, mutations)| Case { seed, mutations })
}

/// The mutant of `seed` (`others` for splices), at most [`MAX_INPUT`] long.
pub fn apply<'a>(seed: &str, case: &Case, others: &dyn Fn(usize) -> &'a str) -> String {
    let mut text = seed.to_owned();
    for mutation in &case.mutations {
        mutate(&mut text, mutation, others);
        if text.len() > MAX_INPUT {
            text.truncate(boundary(&text, MAX_INPUT));
        }
    }
    text
}

fn mutate<'a>(text: &mut String, mutation: &Mutation, others: &dyn Fn(usize) -> &'a str) {
    match *mutation {
        Mutation::Delete { at, len } => {
            let (start, end) = span(text, at, len);
            text.replace_range(start..end, "");
        }
        Mutation::Repeat { at, len, times } => {
            let (start, end) = span(text, at, len);
            let piece = text[start..end].repeat(usize::from(times));
            text.insert_str(end, &piece[..boundary(&piece, MAX_INPUT)]);
        }
        Mutation::Insert { at, token, times } => {
            let at = place(text, at);
            let piece = TOKENS[token % TOKENS.len()].repeat(usize::from(times));
            text.insert_str(at, &piece);
        }
        Mutation::Splice {
            at,
            from,
            from_at,
            len,
        } => {
            let other = others(from);
            let (start, end) = span(other, from_at, len);
            let at = place(text, at);
            text.insert_str(at, &other[start..end]);
        }
        Mutation::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.split('\n').collect();
            let count = lines.len();
            let index = |fraction: u32| ((u64::from(fraction) * count as u64) >> 32) as usize;
            lines.swap(index(a), index(b));
            *text = lines.join("\n");
        }
        Mutation::Truncate { at } => {
            let at = place(text, at);
            text.truncate(at);
        }
    }
}

/// The char boundary at fraction `at` of `text`.
fn place(text: &str, at: u32) -> usize {
    boundary(text, ((u64::from(at) * text.len() as u64) >> 32) as usize)
}

/// The span of about `len` bytes starting at fraction `at`, on char boundaries.
fn span(text: &str, at: u32, len: u16) -> (usize, usize) {
    let start = place(text, at);
    (start, boundary(text, start + usize::from(len)))
}

/// The last char boundary at or before `index` (the end when past it).
fn boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_keep_to_char_boundaries_and_the_size_limit() {
        let seed = "中文 | `a` |\n| 表 | b |\n".repeat(50);
        let other = "另一页 ∟ x\n".repeat(10);
        let others = |_: usize| other.as_str();
        let cases = [
            Mutation::Delete { at: 7, len: 3 },
            Mutation::Repeat {
                at: u32::MAX / 3,
                len: 255,
                times: 4095,
            },
            Mutation::Insert {
                at: 1 << 31,
                token: 5,
                times: 20_000,
            },
            Mutation::Splice {
                at: 5,
                from: 0,
                from_at: 9,
                len: 100,
            },
            Mutation::SwapLines { a: 0, b: u32::MAX },
            Mutation::Truncate { at: 123_456_789 },
        ];
        for mutation in cases {
            let case = Case {
                seed: 0,
                mutations: vec![mutation.clone(); 3],
            };
            let text = apply(&seed, &case, &others);
            assert!(text.len() <= MAX_INPUT, "{mutation:?}");
        }
    }
}
