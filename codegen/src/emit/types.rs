//! Structs and enums.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{allow_trait_method_name, doc_attrs, type_tokens};
use crate::ir::{EnumDef, EnumRepr, FieldDef, Location, Module, RustType, StructDef};

/// Past this many arguments a constructor needs clippy's permission.
const CLIPPY_MAX_ARGS: usize = 7;

/// The crate feature that adds the serde derives the client does not need (tests and
/// emulators read requests and write responses).
pub const ROUNDTRIP_FEATURE: &str = "roundtrip";
/// The crate feature that adds `schemars::JsonSchema` to every type.
pub const SCHEMARS_FEATURE: &str = "schemars";

/// A struct with the serde derives it needs, a constructor taking its required fields and
/// a setter for each optional one.
pub fn struct_tokens(module: &Module, def: &StructDef) -> TokenStream {
    let name = def.name.ident();
    let doc = doc_attrs(&def.doc, false);
    let (serde, optional_derives) = serde_derives(def);
    // `#[serde]` attributes need a serde derive (or schemars', which reads them) to be there.
    let conditional_attrs = !def.serde.serialize && !def.serde.deserialize;
    let fields = def
        .fields
        .iter()
        .map(|field| field_tokens(module, field, conditional_attrs));
    let constructor = constructor(module, def);
    let validate = validate_impl(def);
    let event = event_impl(def);
    let setters = def
        .fields
        .iter()
        .filter(|f| !f.required)
        .map(|field| setter(module, field));
    // A file may be a one-shot stream: it can be neither cloned nor compared.
    let derives = [
        (!def.holds_file, quote!(Clone)),
        (true, quote!(Debug)),
        (def.is_defaultable(), quote!(Default)),
        (!def.holds_file, quote!(PartialEq)),
    ]
    .into_iter()
    .filter_map(|(wanted, derive)| wanted.then_some(derive))
    .chain(serde);
    quote! {
        #doc
        #[derive(#(#derives),*)]
        #optional_derives
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            #constructor
            #(#setters)*
        }

        #validate
        #event
    }
}

/// `impl Event`, for an event's payload: how the dispatcher knows the event type.
fn event_impl(def: &StructDef) -> Option<TokenStream> {
    let event_type = def.event_type.as_deref()?;
    let name = def.name.ident();
    Some(quote! {
        impl ::feishu_runtime::codegen::Event for #name {
            const EVENT_TYPE: &'static str = #event_type;
        }
    })
}

/// The serde derives the client needs, which are always there; and the attributes that
/// add the others, and JsonSchema, with their features.
fn serde_derives(def: &StructDef) -> (Vec<TokenStream>, TokenStream) {
    let always: Vec<TokenStream> = [
        (def.serde.serialize, quote!(::serde::Serialize)),
        (def.serde.deserialize, quote!(::serde::Deserialize)),
    ]
    .into_iter()
    .filter(|(needed, _)| *needed)
    .map(|(_, derive)| derive)
    .collect();
    let roundtrip: Vec<TokenStream> = [
        (!def.serde.serialize, quote!(::serde::Serialize)),
        (!def.serde.deserialize, quote!(::serde::Deserialize)),
    ]
    .into_iter()
    .filter(|(missing, _)| *missing)
    .map(|(_, derive)| derive)
    .collect();
    let roundtrip = (!roundtrip.is_empty())
        .then(|| quote!(#[cfg_attr(feature = #ROUNDTRIP_FEATURE, derive(#(#roundtrip),*))]));
    let optional = quote! {
        #roundtrip
        #[cfg_attr(feature = #SCHEMARS_FEATURE, derive(::schemars::JsonSchema))]
    };
    (always, optional)
}

/// `impl Validate`, for structs with rules to check (see `StructDef::validated`).
fn validate_impl(def: &StructDef) -> Option<TokenStream> {
    if !def.validated {
        return None;
    }
    let name = def.name.ident();
    let checks = def.fields.iter().filter_map(field_checks);
    Some(quote! {
        impl ::feishu_runtime::codegen::Validate for #name {
            fn validate(&self, at: &str, out: &mut Vec<::feishu_runtime::codegen::FieldViolation>) {
                #(#checks)*
            }
        }
    })
}

/// The checks of one field's rules, and of the structs it holds.
fn field_checks(field: &FieldDef) -> Option<TokenStream> {
    let name = field.name.ident();
    // The body is checked where it is: its fields are at the top of the JSON.
    let wire = if field.location == Location::Body {
        ""
    } else {
        field.wire.as_str()
    };
    let rules = &field.rules;
    let bound_u64 = |b: Option<u64>| {
        b.map_or(quote!(None), |b| {
            let b = Literal::u64_unsuffixed(b);
            quote!(Some(#b))
        })
    };
    let bound_f64 = |b: Option<f64>| {
        b.map_or(quote!(None), |b| {
            let b = Literal::f64_unsuffixed(b);
            quote!(Some(#b))
        })
    };
    let mut checks = Vec::new();
    if field.checks_length() {
        let (min, max) = (bound_u64(rules.min_length), bound_u64(rules.max_length));
        checks.push(
            quote!(::feishu_runtime::codegen::check_length(out, at, #wire, value, #min, #max);),
        );
    }
    if field.checks_range() {
        let number = match field.ty {
            RustType::F64 => Some(quote!(*value)),
            RustType::I32 => Some(quote!(f64::from(*value))),
            RustType::I64 => Some(quote!(*value as f64)),
            _ => None,
        };
        if let Some(number) = number {
            let (min, max) = (bound_f64(rules.min_value), bound_f64(rules.max_value));
            checks.push(
                quote!(::feishu_runtime::codegen::check_range(out, at, #wire, #number, #min, #max);),
            );
        }
    }
    if field.nested_rules {
        checks.push(quote! {
            ::feishu_runtime::codegen::Validate::validate(value, &::feishu_runtime::codegen::field_path(at, #wire), out);
        });
    }
    if checks.is_empty() {
        return None;
    }
    Some(if field.required {
        quote! {{ let value = &self.#name; #(#checks)* }}
    } else {
        quote! { if let Some(value) = &self.#name { #(#checks)* } }
    })
}

/// A field; `conditional_attrs` puts its `#[serde]` attributes behind the features that
/// bring the derives that read them.
fn field_tokens(module: &Module, field: &FieldDef, conditional_attrs: bool) -> TokenStream {
    let name = field.name.ident();
    let doc = doc_attrs(&field.doc, false);
    let ty = type_tokens(module, &field.ty);
    let serde_attr = |args: TokenStream| {
        if conditional_attrs {
            quote!(#[cfg_attr(any(feature = #ROUNDTRIP_FEATURE, feature = #SCHEMARS_FEATURE), serde(#args))])
        } else {
            quote!(#[serde(#args)])
        }
    };
    let rename = (field.wire != field.name.bare()).then(|| {
        let wire = &field.wire;
        serde_attr(quote!(rename = #wire))
    });
    // A file is a part of its own, not a form field: the body's serialization, which
    // makes the form fields, leaves it out.
    let file = matches!(field.ty, RustType::File).then(|| serde_attr(quote!(skip)));
    if file.is_some() {
        let ty = match field.required {
            true => ty,
            false => quote!(Option<#ty>),
        };
        return quote! {
            #doc
            #file
            pub #name: #ty,
        };
    }
    if field.required {
        let absent = field
            .default_when_absent
            .then(|| serde_attr(quote!(default)));
        quote! {
            #doc
            #rename
            #absent
            pub #name: #ty,
        }
    } else {
        let optional = serde_attr(quote!(default, skip_serializing_if = "Option::is_none"));
        quote! {
            #doc
            #rename
            #optional
            pub #name: Option<#ty>,
        }
    }
}

/// How a constructor or setter argument becomes the field's value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conversion {
    Identity,
    /// Strings are taken as `impl Into<String>`.
    Into,
    /// Boxed types are taken unboxed.
    Boxed,
    /// Lists are taken as any iterator of their items…
    Collect,
    /// …and lists of strings as any iterator of string-like items.
    CollectInto,
}

impl Conversion {
    fn apply(self, value: TokenStream) -> TokenStream {
        match self {
            Conversion::Identity => value,
            Conversion::Into => quote!(#value.into()),
            Conversion::Boxed => quote!(Box::new(#value)),
            Conversion::Collect => quote!(#value.into_iter().collect()),
            Conversion::CollectInto => quote!(#value.into_iter().map(Into::into).collect()),
        }
    }
}

/// The argument type for a field, and how the argument becomes the field's value.
fn param_type(module: &Module, ty: &RustType) -> (TokenStream, Conversion) {
    match ty {
        RustType::String => (quote!(impl Into<String>), Conversion::Into),
        RustType::Box(inner) => (type_tokens(module, inner), Conversion::Boxed),
        RustType::Vec(item) if matches!(**item, RustType::String) => (
            quote!(impl IntoIterator<Item = impl Into<String>>),
            Conversion::CollectInto,
        ),
        RustType::Vec(item) => {
            let item = type_tokens(module, item);
            (quote!(impl IntoIterator<Item = #item>), Conversion::Collect)
        }
        other => (type_tokens(module, other), Conversion::Identity),
    }
}

fn constructor(module: &Module, def: &StructDef) -> Option<TokenStream> {
    if def.is_defaultable() {
        // `Default` builds it; the setters fill it in.
        return None;
    }
    let required: Vec<&FieldDef> = def.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|field| {
        let name = field.name.ident();
        let (ty, _) = param_type(module, &field.ty);
        quote!(#name: #ty)
    });
    let inits = def.fields.iter().map(|field| {
        let name = field.name.ident();
        match (field.required, param_type(module, &field.ty).1) {
            (false, _) => quote!(#name: None),
            (true, Conversion::Identity) => quote!(#name),
            (true, conversion) => {
                let value = conversion.apply(quote!(#name));
                quote!(#name: #value)
            }
        }
    });
    let allow =
        (required.len() > CLIPPY_MAX_ARGS).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let optional = if def.fields.iter().any(|f| !f.required) {
        "; set the optional ones with the methods below"
    } else {
        ""
    };
    let doc = format!(
        " Builds `{}` from its required fields{optional}.",
        def.name.bare()
    );
    Some(quote! {
        #[doc = #doc]
        #allow
        pub fn new(#(#params),*) -> Self {
            Self { #(#inits),* }
        }
    })
}

fn setter(module: &Module, field: &FieldDef) -> TokenStream {
    let name = field.name.ident();
    let setter = field.setter.ident();
    let (ty, conversion) = param_type(module, &field.ty);
    let value = conversion.apply(quote!(value));
    // Intra-doc links cannot name raw identifiers, so keyword fields are not linked.
    let doc = if field.name.as_str().starts_with("r#") {
        format!(" Sets `{}`.", field.name.bare())
    } else {
        format!(" Sets [`{0}`](Self::{0}).", field.name.as_str())
    };
    let allow = allow_trait_method_name(&field.setter);
    quote! {
        #[doc = #doc]
        #allow
        pub fn #setter(mut self, value: #ty) -> Self {
            self.#name = Some(#value);
            self
        }
    }
}

pub fn enum_def(def: &EnumDef) -> TokenStream {
    let name = def.name.ident();
    let doc = doc_attrs(&def.doc, false);
    let variants = def.variants.iter().map(|variant| {
        let ident = variant.name.ident();
        let doc = doc_attrs(std::slice::from_ref(&variant.doc), false);
        quote!(#doc #ident,)
    });
    let (unknown, mapping, macro_name) = match def.repr {
        EnumRepr::String => {
            let pairs = def.variants.iter().map(|v| {
                let ident = v.name.ident();
                let value = v.value.as_str().expect("validated: string options");
                quote!(#ident => #value)
            });
            (quote!(String), quote!(#(#pairs),*), quote!(string_enum))
        }
        EnumRepr::Integer => {
            let pairs = def.variants.iter().map(|v| {
                let ident = v.name.ident();
                let value =
                    Literal::i64_unsuffixed(v.value.as_i64().expect("validated: integer options"));
                quote!(#ident => #value)
            });
            (quote!(i64), quote!(#(#pairs),*), quote!(integer_enum))
        }
    };
    quote! {
        #doc
        #[derive(Clone, Debug)]
        pub enum #name {
            #(#variants)*
            /// A value not documented when this crate was generated, kept as sent.
            Unknown(#unknown),
        }

        ::feishu_runtime::codegen::#macro_name!(#name { #mapping });
    }
}
