//! Operations: the request struct, its `ApiRequest` impl (method, path, query, headers,
//! body and the endpoint's metadata), and the method on the resource handle.

use feishu_spec::model::{ApiHost, Envelope, HttpMethod, TokenKind};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{allow_trait_method_name, doc_attrs, type_tokens, types::struct_tokens};
use crate::ir::{
    FieldRef, FilePartDef, Ir, Location, Module, Operation, Paging, PathSegment, RustType,
};

pub fn operations(module: &Module) -> TokenStream {
    if module.operations.is_empty() {
        return TokenStream::new();
    }
    let handle = module
        .accessor
        .as_ref()
        .expect("resources have a handle")
        .type_name
        .ident();
    let methods = module.operations.iter().map(|op| {
        let doc = doc_attrs(&op.doc, false);
        let paged = paging_doc(op).map(|line| quote!(#[doc = ""] #[doc = #line]));
        let name = op.fn_name.ident();
        let request = op.request.name.ident();
        let allow = allow_trait_method_name(&op.fn_name);
        quote! {
            #doc
            #paged
            #allow
            pub fn #name(&self, request: #request) -> ::feishu_runtime::codegen::Call<'a, #request> {
                ::feishu_runtime::codegen::Call::new(self.client, request)
            }
        }
    });
    let requests = module.operations.iter().map(|op| {
        let def = struct_tokens(module, &op.request);
        let api = api_request_impl(module, op);
        let paged = op
            .paging
            .as_ref()
            .map(|paging| paged_impls(module, op, paging));
        quote!(#def #api #paged)
    });
    quote! {
        impl<'a> #handle<'a> {
            #(#methods)*
        }

        #(#requests)*
    }
}

/// How a list is walked, for its method's docs.
fn paging_doc(op: &Operation) -> Option<String> {
    if let Some(paging) = &op.paging {
        let items = match paging.items {
            Some(_) => " or item by item with [`Call::items`](::feishu_runtime::Call::items)",
            None => "",
        };
        return Some(format!(
            " Paged: walk it page by page with [`Call::pages`](::feishu_runtime::Call::pages){items}."
        ));
    }
    let param = op.paged_by.as_ref()?;
    Some(format!(
        " Paged by position (`{param}`): ask for each page with it; there is no page stream."
    ))
}

fn api_request_impl(module: &Module, op: &Operation) -> TokenStream {
    let request = op.request.name.ident();
    let body_ty = op
        .body
        .as_ref()
        .map_or(quote!(()), |ty| type_tokens(module, ty));
    let response_ty = type_tokens(module, &op.response);
    let endpoint = endpoint_const(op);
    let path = path_fn(op);
    let query = params_fn(op, Location::Query, quote!(query));
    let headers = params_fn(op, Location::Header, quote!(headers));
    let body = op
        .request
        .fields
        .iter()
        .find(|f| f.location == Location::Body)
        .map(|field| {
            let name = field.name.ident();
            quote! {
                fn body(&self) -> Option<&Self::Body> {
                    Some(&self.#name)
                }
            }
        });
    let files = files_fns(op);
    let validate = op.request.validated.then(|| {
        quote! {
            fn validate(&self, out: &mut Vec<::feishu_runtime::codegen::FieldViolation>) {
                ::feishu_runtime::codegen::Validate::validate(self, "", out);
            }
        }
    });
    quote! {
        impl ::feishu_runtime::codegen::ApiRequest for #request {
            type Body = #body_ty;
            type Response = #response_ty;
            const ENDPOINT: &'static ::feishu_runtime::codegen::Endpoint = &#endpoint;

            #path
            #query
            #headers
            #body
            #files
            #validate
        }
    }
}

/// `files` and `files_mut`, for an upload: its file parts by wire name, set or not.
fn files_fns(op: &Operation) -> Option<TokenStream> {
    if op.files.is_empty() {
        return None;
    }
    let field = |part: &FilePartDef| {
        let (body, field) = (part.body.ident(), part.field.name.ident());
        quote!(self.#body.#field)
    };
    // Every part, in the doc's order: an optional one is set to an empty file first.
    let all_mut = op.files.iter().map(|part| {
        let (wire, field) = (&part.field.wire, field(part));
        match part.field.required {
            true => quote!((#wire, &mut #field)),
            false => quote!((#wire, #field.get_or_insert_with(Default::default))),
        }
    });
    // Arrays, not `vec!`: prettyplease leaves macro arguments as rustfmt would not.
    let mutable = quote!(Vec::from([#(#all_mut),*]));
    // The parts that are set, in the doc's order.
    let shared = if op.files.iter().all(|part| part.field.required) {
        let all = op.files.iter().map(|part| {
            let (wire, field) = (&part.field.wire, field(part));
            quote!((#wire, &#field))
        });
        quote!(Vec::from([#(#all),*]))
    } else {
        let maybe = op.files.iter().map(|part| {
            let (wire, field) = (&part.field.wire, field(part));
            match part.field.required {
                true => quote!((#wire, Some(&#field))),
                false => quote!((#wire, #field.as_ref())),
            }
        });
        quote! {
            [#(#maybe),*]
                .into_iter()
                .filter_map(|(name, file)| Some((name, file?)))
                .collect()
        }
    };
    Some(quote! {
        fn files(&self) -> Vec<(&'static str, &::feishu_runtime::codegen::UploadFile)> {
            #shared
        }
        fn files_mut(&mut self) -> Vec<(&'static str, &mut ::feishu_runtime::codegen::UploadFile)> {
            #mutable
        }
    })
}

fn endpoint_const(op: &Operation) -> TokenStream {
    let id = &op.id;
    let method = match op.method {
        HttpMethod::Get => quote!(Get),
        HttpMethod::Post => quote!(Post),
        HttpMethod::Put => quote!(Put),
        HttpMethod::Patch => quote!(Patch),
        HttpMethod::Delete => quote!(Delete),
    };
    let path = &op.path;
    let tokens = op.tokens.iter().map(|t| match t {
        TokenKind::Tenant => quote!(::feishu_runtime::codegen::TokenKind::Tenant),
        TokenKind::User => quote!(::feishu_runtime::codegen::TokenKind::User),
        TokenKind::App => quote!(::feishu_runtime::codegen::TokenKind::App),
    });
    let helpdesk = op.helpdesk;
    let envelope = match op.envelope {
        _ if op.file_response => quote!(::feishu_runtime::codegen::Envelope::File),
        Envelope::Data => quote!(::feishu_runtime::codegen::Envelope::Data),
        Envelope::Flat => quote!(::feishu_runtime::codegen::Envelope::Flat),
    };
    let files = op.files.iter().map(|part| {
        let name = &part.field.wire;
        let max_bytes = part.max_bytes.map_or(quote!(None), |max| {
            let max = Literal::u64_unsuffixed(max);
            quote!(Some(#max))
        });
        let required = part.field.required;
        quote!(::feishu_runtime::codegen::FilePart { name: #name, required: #required, max_bytes: #max_bytes })
    });
    let errors = op.errors.iter().map(|e| {
        let status = e.http_status.map_or(quote!(None), |s| quote!(Some(#s)));
        let code = Literal::i64_unsuffixed(*e.code);
        let message = &e.message;
        let hint = &e.hint;
        quote! {
            ::feishu_runtime::codegen::DocumentedError { http_status: #status, code: #code, message: #message, hint: #hint }
        }
    });
    let doc_url = &op.doc_url;
    let rate_limit = op.rate_limit.iter().map(|quota| {
        let requests = Literal::u32_unsuffixed(quota.requests);
        let window = Literal::u64_unsuffixed(quota.window_secs.into());
        quote!(::feishu_runtime::codegen::Quota::new(#requests, #window))
    });
    let paging = op.paging.as_ref().map_or(quote!(None), paging_const);
    let response_example = op
        .response_example
        .as_deref()
        .map_or(quote!(None), |example| {
            let example = raw_string(example);
            quote!(Some(#example))
        });
    let body_schema = op.body_schema.as_deref().map_or(quote!(None), |schema| {
        let schema = raw_string(schema);
        quote!(Some(#schema))
    });
    let host = match op.host {
        ApiHost::Open => quote!(::feishu_runtime::codegen::Host::Open),
        ApiHost::Www => quote!(::feishu_runtime::codegen::Host::Www),
    };
    quote! {
        ::feishu_runtime::codegen::Endpoint {
            id: #id,
            method: ::feishu_runtime::codegen::HttpMethod::#method,
            host: #host,
            path: #path,
            tokens: &[#(#tokens),*],
            helpdesk: #helpdesk,
            envelope: #envelope,
            files: &[#(#files),*],
            errors: &[#(#errors),*],
            doc_url: #doc_url,
            paging: #paging,
            rate_limit: &[#(#rate_limit),*],
            response_example: #response_example,
            body_schema: #body_schema,
        }
    }
}

/// `text` as a raw string literal (`r#"…"#`, with as many `#` as it needs), so that JSON
/// reads in the generated code as it does in the spec.
fn raw_string(text: &str) -> TokenStream {
    let hashes = (1..)
        .map(|n| "#".repeat(n))
        .find(|hashes| !text.contains(&format!("\"{hashes}")))
        .unwrap_or_default();
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .unwrap_or_else(|_| quote!(#text))
}

fn paging_const(paging: &Paging) -> TokenStream {
    let token_in = match paging.body {
        Some(_) => quote!(Body),
        None => quote!(Query),
    };
    let request_token = &paging.token.wire;
    let response_token = &paging.response_token.wire;
    let optional = |field: Option<&FieldRef>| match field {
        Some(field) => {
            let wire = &field.wire;
            quote!(Some(#wire))
        }
        None => quote!(None),
    };
    let has_more = optional(paging.has_more.as_ref());
    let items = optional(paging.items.as_ref().map(|(field, _)| field));
    quote! {
        Some(::feishu_runtime::codegen::Paging {
            token_in: ::feishu_runtime::codegen::PageTokenIn::#token_in,
            request_token: #request_token,
            response_token: #response_token,
            has_more: #has_more,
            items: #items,
        })
    }
}

/// `PagedRequest` (and `PagedItems`, when the response has one list): how the runtime
/// asks for the next page and reads what a page says of the next one.
fn paged_impls(module: &Module, op: &Operation, paging: &Paging) -> TokenStream {
    let request = op.request.name.ident();
    let token = paging.token.name.ident();
    let field = match &paging.body {
        Some(body) => {
            let body = body.ident();
            quote!(self.#body.#token)
        }
        None => quote!(self.#token),
    };
    // A required token is sent empty for the first page.
    let (get, set) = match paging.token.required {
        true => (
            quote!(Some(#field.as_str()).filter(|token| !token.is_empty())),
            quote!(#field = token.unwrap_or_default();),
        ),
        false => (quote!(#field.as_deref()), quote!(#field = token;)),
    };
    let next_token = {
        let name = paging.response_token.name.ident();
        match paging.response_token.required {
            true => quote!(Some(response.#name.as_str())),
            false => quote!(response.#name.as_deref()),
        }
    };
    let has_more = match &paging.has_more {
        Some(field) => {
            let name = field.name.ident();
            match field.required {
                true => quote!(Some(response.#name)),
                false => quote!(response.#name),
            }
        }
        None => quote!(None),
    };
    let items = paging.items.as_ref().map(|(field, item)| {
        let name = field.name.ident();
        let item = type_tokens(module, item);
        let take = match field.required {
            true => quote!(response.#name),
            false => quote!(response.#name.unwrap_or_default()),
        };
        quote! {
            impl ::feishu_runtime::codegen::PagedItems for #request {
                type Item = #item;

                fn into_items(response: Self::Response) -> Vec<Self::Item> {
                    #take
                }
            }
        }
    });
    quote! {
        impl ::feishu_runtime::codegen::PagedRequest for #request {
            fn page_token(&self) -> Option<&str> {
                #get
            }

            fn set_page_token(&mut self, token: Option<String>) {
                #set
            }

            fn next_page(response: &Self::Response) -> ::feishu_runtime::codegen::NextPage<'_> {
                ::feishu_runtime::codegen::NextPage { has_more: #has_more, token: #next_token }
            }
        }
        #items
    }
}

/// Builds the path from literal runs and percent-encoded parameters.
fn path_fn(op: &Operation) -> TokenStream {
    let mut steps = Vec::new();
    let mut literal = String::new();
    for segment in &op.segments {
        match segment {
            PathSegment::Literal(text) => {
                literal.push('/');
                literal.push_str(text);
            }
            PathSegment::Param(field) => {
                literal.push('/');
                let run = std::mem::take(&mut literal);
                steps.push(quote!(path.push_str(#run);));
                let name = field.ident();
                steps.push(
                    quote!(::feishu_runtime::codegen::push_path_param(&mut path, &self.#name);),
                );
            }
        }
    }
    // A documented trailing slash is sent as documented.
    if op.path.ends_with('/') {
        literal.push('/');
    }
    if !literal.is_empty() {
        steps.push(quote!(path.push_str(#literal);));
    }
    let capacity = op.path.len() + 16;
    quote! {
        fn path(&self) -> String {
            let mut path = String::with_capacity(#capacity);
            #(#steps)*
            path
        }
    }
}

/// Writes the query or header parameters, skipping absent optional ones and repeating
/// the name for each item of an array.
fn params_fn(op: &Operation, location: Location, fn_name: TokenStream) -> TokenStream {
    let fields: Vec<_> = op
        .request
        .fields
        .iter()
        .filter(|f| f.location == location)
        .collect();
    if fields.is_empty() {
        return TokenStream::new();
    }
    let pushes = fields.iter().map(|field| {
        let name = field.name.ident();
        let wire = &field.wire;
        let is_array = matches!(field.ty, RustType::Vec(_));
        match (field.required, is_array) {
            (true, false) => quote!(out.push(#wire, &self.#name);),
            (true, true) => quote!(for value in &self.#name { out.push(#wire, value); }),
            (false, false) => quote!(if let Some(value) = &self.#name { out.push(#wire, value); }),
            (false, true) => {
                quote!(for value in self.#name.iter().flatten() { out.push(#wire, value); })
            }
        }
    });
    quote! {
        fn #fn_name(&self, out: &mut ::feishu_runtime::codegen::Params) {
            #(#pushes)*
        }
    }
}

/// A service crate's `__for_each_endpoint!`: `__for_each_endpoint!([next!] args…)` calls
/// `next!(args… Request, Request, …)` with the request type of each of its endpoints, each
/// followed by a comma. The `feishu` crate chains these through [`registry`].
pub fn service_registry(ir: &Ir, service: &Module) -> TokenStream {
    let endpoints = service_list(ir, service, Registry::Endpoints);
    let events = service_list(ir, service, Registry::Events);
    quote! {
        /// Calls `$next` with `$args` followed by the request type of every endpoint of
        /// this service, each followed by a comma, for tests that cover all endpoints
        /// without naming them.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __for_each_endpoint {
            ([$($next:tt)*] $($args:tt)*) => {
                $($next)*($($args)* #(#endpoints)*)
            };
        }
        /// Calls `$next` with `$args` followed by the payload type of every event of this
        /// service, each followed by a comma, for tests that cover all events without
        /// naming them.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __for_each_event {
            ([$($next:tt)*] $($args:tt)*) => {
                $($next)*($($args)* #(#events)*)
            };
        }
    }
}

/// What a registry macro lists: the request types of the endpoints, or the payload types
/// of the events.
#[derive(Clone, Copy)]
pub enum Registry {
    Endpoints,
    Events,
}

impl Registry {
    fn macro_name(self) -> &'static str {
        match self {
            Registry::Endpoints => "__for_each_endpoint",
            Registry::Events => "__for_each_event",
        }
    }
}

/// `$crate::path::Type,` for each listed type of one service.
fn service_list(ir: &Ir, service: &Module, registry: Registry) -> Vec<TokenStream> {
    let modules = ir
        .modules
        .values()
        .filter(|m| m.path.first() == service.path.first());
    modules
        .flat_map(|module| {
            let names: Vec<&crate::naming::RustName> = match registry {
                Registry::Endpoints => module
                    .operations
                    .iter()
                    .map(|op| &op.request.name)
                    .collect(),
                Registry::Events => module
                    .structs
                    .iter()
                    .filter(|s| s.event_type.is_some())
                    .map(|s| &s.name)
                    .collect(),
            };
            names.into_iter().map(move |name| {
                let path = module.path[1..].iter().map(|m| m.ident());
                let name = name.ident();
                quote!($crate::#(#path::)*#name,)
            })
        })
        .collect()
}

/// `__for_each_endpoint!` of the `feishu` crate, which hands every request type of the
/// enabled services to a macro: how tests and the emulator cover every endpoint without
/// naming any.
///
/// A `#[cfg]` written inside an exported macro is decided in the crate that expands it,
/// not in this one. So each service gets a macro of its own here, defined one way when its
/// feature is on and another when it is off; they are chained, each adding its service's
/// requests (by way of the service crate's own `__for_each_endpoint!`, given the next link
/// to call) or none, and the last calls `$callback!` with the whole list.
pub fn registry(ir: &Ir, registry: Registry) -> TokenStream {
    let root = &ir.modules[&Vec::new()];
    let macro_name = quote::format_ident!("{}", registry.macro_name());
    let link = match registry {
        Registry::Endpoints => "__feishu_endpoints",
        Registry::Events => "__feishu_events",
    };
    let names: Vec<proc_macro2::Ident> = root
        .children
        .iter()
        .map(|service| quote::format_ident!("{link}_{}", service.bare()))
        .collect();
    let first = names.first().map_or_else(
        || quote!($callback!()),
        |name| quote!($crate::#name!($callback;)),
    );
    let chain = root
        .children
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, (service, name))| {
            let feature = &ir.modules[&vec![service.clone()]].spec_name;
            let module = service.ident();
            // The next link, and what it is called with before the added requests.
            let (next, args) = match names.get(i + 1) {
                Some(next) => (quote!($crate::#next!), quote!($callback; $($done)*)),
                None => (quote!($callback!), quote!($($done)*)),
            };
            quote! {
                #[cfg(feature = #feature)]
                #[doc(hidden)]
                #[macro_export]
                macro_rules! #name {
                    ($callback:ident; $($done:tt)*) => {
                        $crate::#module::#macro_name!([#next] #args)
                    };
                }
                #[cfg(not(feature = #feature))]
                #[doc(hidden)]
                #[macro_export]
                macro_rules! #name {
                    ($callback:ident; $($done:tt)*) => { #next(#args) };
                }
            }
        });
    let what = match registry {
        Registry::Endpoints => "the request type of every generated endpoint",
        Registry::Events => "the payload type of every generated event",
    };
    let doc = format!(
        " Calls `$callback!` with {what} of the enabled services, each followed by a comma, \
         for tests that cover them all without naming them. The services are visited one \
         macro call after another, two deep each, so a crate that calls it needs \
         `#![recursion_limit = \"512\"]`."
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #macro_name {
            ($callback:ident) => {
                #first
            };
        }
        #(#chain)*
    }
}
