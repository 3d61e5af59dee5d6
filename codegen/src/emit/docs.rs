//! Doc comments, kept out of quote, syn and prettyplease.
//!
//! Most of the generated text is documentation. Passed through the usual route, every
//! line would be escaped into a string literal by quote, unescaped again by syn and
//! copied by prettyplease: a third of codegen's time. Instead each block of doc lines
//! becomes one short placeholder attribute, and [`splice`] puts the lines back into the
//! formatted file, exactly as prettyplease prints a `#[doc]` line.

use std::cell::RefCell;

use proc_macro2::TokenStream;
use quote::quote;

/// What a placeholder's doc line starts with: a private-use character, which quote
/// escapes in string literals, so no other line of a formatted file can look like one.
const MARK: char = '\u{F8FF}';

thread_local! {
    /// The doc blocks of the module being emitted on this thread, by placeholder number.
    static BLOCKS: RefCell<Option<Vec<Vec<String>>>> = const { RefCell::new(None) };
}

/// Runs `emit`, collecting the doc blocks [`attrs`] hands out meanwhile.
pub(crate) fn collect(emit: impl FnOnce() -> TokenStream) -> (TokenStream, Vec<Vec<String>>) {
    let outer = BLOCKS.with(|blocks| blocks.borrow_mut().replace(Vec::new()));
    let tokens = emit();
    let collected = BLOCKS.with(|blocks| std::mem::replace(&mut *blocks.borrow_mut(), outer));
    (tokens, collected.unwrap_or_default())
}

/// `#[doc]` attributes (`#![doc]` when `inner`) for the given lines, each with its
/// leading space, or empty. Inside [`collect`], one placeholder stands for them all.
pub(crate) fn attrs(lines: Vec<String>, inner: bool) -> TokenStream {
    if lines.is_empty() {
        return TokenStream::new();
    }
    let lines = BLOCKS.with(|blocks| match blocks.borrow_mut().as_mut() {
        Some(blocks) => {
            blocks.push(lines);
            vec![format!("{MARK}{}", blocks.len() - 1)]
        }
        None => lines,
    });
    if inner {
        quote!(#(#![doc = #lines])*)
    } else {
        quote!(#(#[doc = #lines])*)
    }
}

/// The formatted `text` with each placeholder line replaced by its block's lines, at
/// the placeholder's indentation and trimmed at the end as prettyplease trims them.
///
/// # Panics
/// When the placeholders found are not exactly the blocks, each once: a generator bug.
pub(crate) fn splice(text: &str, blocks: &[Vec<String>]) -> String {
    let extra: usize = blocks.iter().flatten().map(|line| line.len() + 8).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut spliced = vec![false; blocks.len()];
    for line in text.split_inclusive('\n') {
        let Some((indent, prefix, index)) = placeholder(line) else {
            out.push_str(line);
            continue;
        };
        assert!(!spliced[index], "doc placeholder {index} found twice");
        spliced[index] = true;
        for doc_line in &blocks[index] {
            out.push_str(indent);
            out.push_str(prefix);
            out.push_str(doc_line.trim_end_matches(' '));
            out.push('\n');
        }
    }
    assert!(
        spliced.iter().all(|&found| found),
        "doc placeholders missing from the output"
    );
    out
}

/// A placeholder line's indentation, its `///` or `//!`, and its block number.
fn placeholder(line: &str) -> Option<(&str, &'static str, usize)> {
    let trimmed = line.trim_start_matches(' ');
    let indent = &line[..line.len() - trimmed.len()];
    let (prefix, rest) = if let Some(rest) = trimmed.strip_prefix("///") {
        ("///", rest)
    } else {
        ("//!", trimmed.strip_prefix("//!")?)
    };
    let number = rest.strip_prefix(MARK)?.trim_end_matches('\n');
    let index: usize = number.parse().ok()?;
    Some((indent, prefix, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(tokens: TokenStream) -> String {
        prettyplease::unparse(&syn::parse2(tokens).unwrap())
    }

    fn item(inner: bool) -> TokenStream {
        let docs = attrs(
            vec![
                " First \"line\"  ".to_owned(),
                String::new(),
                " `code` \\ and {braces}".to_owned(),
            ],
            inner,
        );
        let field_docs = attrs(vec![" A field.".to_owned()], false);
        if inner {
            quote!(#docs pub struct S { #field_docs pub a: u8 })
        } else {
            quote!(pub mod m { #docs pub struct S { #field_docs pub a: u8 } })
        }
    }

    #[test]
    fn spliced_docs_read_as_prettyplease_prints_them() {
        for inner in [false, true] {
            let direct = format(item(inner));
            let (tokens, blocks) = collect(|| item(inner));
            assert_eq!(blocks.len(), 2);
            assert_eq!(splice(&format(tokens), &blocks), direct);
        }
    }

    #[test]
    fn outside_collect_the_lines_are_attributes() {
        let text = format(item(false));
        assert!(text.contains("    /// First \"line\"\n    ///\n"), "{text}");
        assert!(!text.contains(MARK));
    }

    #[test]
    fn a_literal_holding_the_mark_is_not_a_placeholder() {
        let literal = format!("///{MARK}0");
        let (tokens, blocks) = collect(|| quote!(pub const S: &str = #literal;));
        assert!(blocks.is_empty());
        let text = format(tokens);
        assert_eq!(splice(&text, &blocks), text);
    }
}
