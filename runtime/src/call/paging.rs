//! Paged lists: the endpoints that return their results a page at a time, with a
//! `page_token` to ask for the next page and `has_more` to say whether there is one, walked
//! as a stream of pages ([`Pages`]) or of items ([`Items`]).

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::call::Call;
use crate::call::request::ApiRequest;
use crate::error::{Error, Result};

/// The longest page token a walk follows. Feishu's are well under 1 KiB; a longer one is
/// refused with [`Error::Paging`] rather than sent back in a URL or remembered.
pub const MAX_PAGE_TOKEN_BYTES: usize = 8 * 1024;

/// How many pages in a row may hold no item before an item walk ([`Items`]) gives up with
/// [`Error::Paging`], by default. Feishu may answer a page emptied by filtering with
/// `has_more: true`, but not page after page: a server that does would make
/// `.items().next()` wait forever.
pub const DEFAULT_MAX_EMPTY_PAGES: u32 = 100;

/// How many of the latest page tokens a walk remembers, to tell a loop: a loop longer than
/// this is not told, but the walk's memory stays bounded (8 bytes a token, as a hash).
const REMEMBERED_TOKENS: usize = 65_536;

/// What a page says of the next one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NextPage<'r> {
    /// The response's `has_more`, where it has one.
    pub has_more: Option<bool>,
    /// The token that asks for the next page.
    pub token: Option<&'r str>,
}

/// A request to an endpoint that returns its results a page at a time. Generated for
/// every endpoint with a `page_token` parameter and a next page token in its response.
pub trait PagedRequest: ApiRequest {
    /// The page token the request asks for; `None` for the first page.
    fn page_token(&self) -> Option<&str>;

    /// Asks for the page `token` names; `None` asks for the first page.
    fn set_page_token(&mut self, token: Option<String>);

    /// What `response` says of the next page.
    fn next_page(response: &Self::Response) -> NextPage<'_>;
}

/// A paged request whose response lists its results in one field (`items` on most
/// endpoints), so that they can be walked one by one.
pub trait PagedItems: PagedRequest {
    /// One result.
    type Item: Send;

    /// The page's results.
    fn into_items(response: Self::Response) -> Vec<Self::Item>;
}

type Fetch<'a, R> =
    Pin<Box<dyn Future<Output = (Call<'a, R>, Result<<R as ApiRequest>::Response>)> + Send + 'a>>;

/// The pages of a paged list, as a [`Stream`]: from the page the request asks for (the
/// first, unless it sets a `page_token`) to the last. Made by [`Call::pages`].
///
/// Each page is one call with the call's options (user token, tenant key, timeout, retry
/// policy): a rate limit on any page waits and retries as a single call would. The stream
/// ends after the page whose `has_more` is false or whose next token is missing or empty;
/// after an error (the call's retries used up); and, with [`Error::Paging`], when the
/// server hands out a token it handed out before, so a server that loops cannot make the
/// client loop. A page with `has_more: true` but no next token ends the walk too (there is
/// no page to ask for), with a warning logged; a token longer than
/// [`MAX_PAGE_TOKEN_BYTES`] ends it with [`Error::Paging`].
#[must_use = "a stream does nothing until it is polled"]
pub struct Pages<'a, R: PagedRequest> {
    state: State<'a, R>,
    /// The latest tokens asked for.
    seen: SeenTokens,
    /// The pages still allowed, if limited.
    remaining: Option<u64>,
    endpoint: &'static str,
}

enum State<'a, R: PagedRequest> {
    /// Ready to ask for the next page.
    Idle(Call<'a, R>),
    Fetching(Fetch<'a, R>),
    /// The last page handed out a token that cannot be followed: the stream reports why,
    /// then ends.
    Refused(String),
    Done,
}

impl<'a, R> Call<'a, R>
where
    R: PagedRequest + 'a,
    R::Response: Send,
{
    /// Walks the list page by page: a [`Stream`] of each page's response, from the page
    /// the request asks for.
    pub fn pages(self) -> Pages<'a, R> {
        let endpoint = self.request().endpoint().id;
        // A walk that starts at a given page must not come back to it either.
        let mut seen = SeenTokens::default();
        if let Some(token) = self.request().page_token() {
            seen.insert(token);
        }
        Pages {
            state: State::Idle(self),
            seen,
            remaining: None,
            endpoint,
        }
    }
}

impl<'a, R> Call<'a, R>
where
    R: PagedItems + 'a,
    R::Response: Send,
{
    /// Walks the list item by item: a [`Stream`] of the results of every page, fetched
    /// as they are needed.
    pub fn items(self) -> Items<'a, R> {
        Items {
            pages: self.pages(),
            buffer: Vec::new().into_iter(),
            remaining: None,
            empty_pages: 0,
            max_empty_pages: DEFAULT_MAX_EMPTY_PAGES,
        }
    }
}

impl<'a, R> Pages<'a, R>
where
    R: PagedRequest + 'a,
    R::Response: Send,
{
    /// Stops after `pages` pages, without asking for more.
    pub fn limit(mut self, pages: u64) -> Self {
        self.remaining = Some(pages);
        self
    }

    /// The next page, or `None` at the end: the stream's next item, without needing a
    /// stream combinator crate.
    pub async fn next(&mut self) -> Option<Result<R::Response>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Decides what follows a page: the next request, the end, or a token to refuse.
    fn after(&mut self, mut call: Call<'a, R>, page: &R::Response) -> State<'a, R> {
        if self.remaining == Some(0) {
            return State::Done;
        }
        let next = R::next_page(page);
        let token = match (next.has_more, next.token) {
            (Some(false), _) => return State::Done,
            (has_more, None | Some("")) => {
                if has_more == Some(true) {
                    tracing::warn!(
                        endpoint = self.endpoint,
                        "a page said has_more but gave no page token; the walk ends there"
                    );
                }
                return State::Done;
            }
            (_, Some(token)) => token,
        };
        if token.len() > MAX_PAGE_TOKEN_BYTES {
            return State::Refused(format!(
                "the server handed out a page token of {} bytes, over the {MAX_PAGE_TOKEN_BYTES} \
                 a walk follows; the list was walked up to that page",
                token.len()
            ));
        }
        if !self.seen.insert(token) {
            return State::Refused(format!(
                "the server handed out the page token {token:?} a second time; \
                 the list was walked up to that page"
            ));
        }
        call.request_mut().set_page_token(Some(token.to_owned()));
        State::Idle(call)
    }
}

impl<'a, R> Stream for Pages<'a, R>
where
    R: PagedRequest + 'a,
    R::Response: Send,
{
    type Item = Result<R::Response>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Idle(_) if this.remaining == Some(0) => return Poll::Ready(None),
                State::Idle(call) => {
                    this.state = State::Fetching(Box::pin(async move {
                        let result = call.send_ref().await;
                        (call, result)
                    }));
                }
                State::Fetching(mut fetch) => {
                    let Poll::Ready((call, result)) = fetch.as_mut().poll(cx) else {
                        this.state = State::Fetching(fetch);
                        return Poll::Pending;
                    };
                    if let Ok(page) = &result {
                        this.remaining = this.remaining.map(|n| n.saturating_sub(1));
                        this.state = this.after(call, page);
                    }
                    return Poll::Ready(Some(result));
                }
                State::Refused(message) => {
                    return Poll::Ready(Some(Err(Error::Paging {
                        endpoint: this.endpoint,
                        message,
                    })));
                }
            }
        }
    }
}

// The state is only ever moved whole, never pinned in place: the one future in it is
// boxed.
impl<R: PagedRequest> Unpin for Pages<'_, R> {}

impl<R: PagedRequest> fmt::Debug for Pages<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::Fetching(_) => "fetching",
            State::Refused(_) => "refused",
            State::Done => "done",
        };
        f.debug_struct("Pages")
            .field("endpoint", &self.endpoint)
            .field("state", &state)
            .field("tokens_remembered", &self.seen.order.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// The latest page tokens of a walk, as hashes, oldest forgotten first.
#[derive(Default)]
struct SeenTokens {
    hasher: RandomState,
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl SeenTokens {
    /// Remembers `token`; false if it is remembered already. Two tokens with the same
    /// 64-bit hash would be taken for one: for the tokens a walk remembers, a chance
    /// under one in 10^9.
    fn insert(&mut self, token: &str) -> bool {
        let hash = self.hasher.hash_one(token);
        if !self.set.insert(hash) {
            return false;
        }
        self.order.push_back(hash);
        if self.order.len() > REMEMBERED_TOKENS
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }
}

/// The results of a paged list one by one, as a [`Stream`], asking for each page when the
/// one before is used up. Made by [`Call::items`]; ends as [`Pages`] does, and with
/// [`Error::Paging`] after [`max_empty_pages`](Self::max_empty_pages) pages in a row
/// without an item.
#[must_use = "a stream does nothing until it is polled"]
pub struct Items<'a, R: PagedItems> {
    pages: Pages<'a, R>,
    buffer: std::vec::IntoIter<R::Item>,
    /// The items still allowed, if limited.
    remaining: Option<u64>,
    /// Pages in a row that held no item.
    empty_pages: u32,
    max_empty_pages: u32,
}

impl<'a, R> Items<'a, R>
where
    R: PagedItems + 'a,
    R::Response: Send,
{
    /// Stops after `items` items, without asking for another page.
    pub fn limit(mut self, items: u64) -> Self {
        self.remaining = Some(items);
        self
    }

    /// How many pages in a row may hold no item before the walk ends with
    /// [`Error::Paging`] (default [`DEFAULT_MAX_EMPTY_PAGES`]; at least 1).
    pub fn max_empty_pages(mut self, pages: u32) -> Self {
        self.max_empty_pages = pages.max(1);
        self
    }

    /// The next item, or `None` at the end: the stream's next item, without needing a
    /// stream combinator crate.
    pub async fn next(&mut self) -> Option<Result<R::Item>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every remaining item, or the first error.
    pub async fn try_collect(mut self) -> Result<Vec<R::Item>> {
        let mut all = Vec::new();
        while let Some(item) = self.next().await {
            all.push(item?);
        }
        Ok(all)
    }
}

impl<'a, R> Stream for Items<'a, R>
where
    R: PagedItems + 'a,
    R::Response: Send,
{
    type Item = Result<R::Item>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.remaining == Some(0) {
                return Poll::Ready(None);
            }
            if let Some(item) = this.buffer.next() {
                this.remaining = this.remaining.map(|n| n - 1);
                return Poll::Ready(Some(Ok(item)));
            }
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(Some(Ok(page))) => {
                    this.buffer = R::into_items(page).into_iter();
                    if let Some(error) = this.count_empty_page() {
                        return Poll::Ready(Some(Err(error)));
                    }
                }
            }
        }
    }
}

impl<R: PagedItems> Items<'_, R> {
    /// Counts a page just read; the error that ends the walk once too many in a row were
    /// empty.
    fn count_empty_page(&mut self) -> Option<Error> {
        if self.buffer.len() > 0 {
            self.empty_pages = 0;
            return None;
        }
        self.empty_pages += 1;
        if self.empty_pages < self.max_empty_pages {
            return None;
        }
        self.pages.state = State::Done;
        Some(Error::Paging {
            endpoint: self.pages.endpoint,
            message: format!(
                "{} pages in a row held no item while saying there are more; \
                 the walk gives up rather than wait forever",
                self.empty_pages
            ),
        })
    }
}

// Nothing in it is pinned in place: the pages stream is `Unpin` and the buffer is only
// moved out of.
impl<R: PagedItems> Unpin for Items<'_, R> {}

impl<R: PagedItems> fmt::Debug for Items<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .field("remaining", &self.remaining)
            .field("empty_pages", &self.empty_pages)
            .finish()
    }
}
