//! One source for the engine's call flows, compiled twice (see `docs/ARCHITECTURE.md`,
//! "One flow, two compilations").
//!
//! The flows are written once, as `async fn`s over an effects trait, in files that a parent
//! module includes twice. Each inclusion imports one of this crate's attributes under the
//! name `flow`, and every flow function carries `#[flow]`:
//! - [`macro@suspending`] keeps the function as it is: the stepper's flows, which suspend at
//!   each effect until the caller answers it;
//! - [`macro@immediate`] makes it a plain `fn` (the `async` dropped, each `.await` removed):
//!   the flows of drivers that answer every effect at once, which run as ordinary calls,
//!   with no future built, moved or polled. Each is marked `#[inline(always)]`: a call's
//!   flows then become one function, whose results are built where they are used rather
//!   than moved through the return slots of a dozen small calls (measured together with
//!   the other changes of that round in `docs/performance.md`).
//!
//! The two compilations are the same text, so they take the same paths and make the same
//! effects in the same order. Two rules keep that true, and both attributes refuse code
//! that breaks them (so it fails whichever inclusion is compiled first): a flow awaits each future where it creates it (a plain function
//! runs at its call, a future at its `.await`), and holds no `async` block or closure.

use proc_macro::TokenStream;
use quote::{quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ItemFn, Macro, Token};

/// The stepper's compilation of a flow: the `async fn` unchanged.
#[proc_macro_attribute]
pub fn suspending(_attr: TokenStream, item: TokenStream) -> TokenStream {
    compile(item.into(), Compilation::Suspending).into()
}

/// The immediate compilation of a flow: `async fn f(..) -> T { .. x.await .. }` becomes
/// `#[inline(always)] fn f(..) -> T { .. x .. }`.
#[proc_macro_attribute]
pub fn immediate(_attr: TokenStream, item: TokenStream) -> TokenStream {
    compile(item.into(), Compilation::Immediate).into()
}

/// Which of the two a flow is compiled as.
#[derive(Clone, Copy, PartialEq)]
enum Compilation {
    Suspending,
    Immediate,
}

/// A `#[flow]` function compiled as `how`, or the `compile_error!` that says why it cannot be.
fn compile(item: proc_macro2::TokenStream, how: Compilation) -> proc_macro2::TokenStream {
    let mut function: ItemFn = match syn::parse2(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error(),
    };
    if let Some(error) = check(&function) {
        return error;
    }
    if how == Compilation::Immediate {
        function.sig.asyncness = None;
        StripAwait.visit_block_mut(&mut function.block);
        function.attrs.push(syn::parse_quote!(#[inline(always)]));
    }
    function.into_token_stream()
}

/// The rules both attributes check (see the crate's documentation).
fn check(function: &ItemFn) -> Option<proc_macro2::TokenStream> {
    if function.sig.asyncness.is_none() {
        let span = function.sig.fn_token.span();
        return Some(quote_spanned!(span=> compile_error!("#[flow] goes on an `async fn`");));
    }
    let mut rules = Rules(None);
    rules.visit_block(&function.block);
    rules.0
}

/// Finds the first construct whose meaning would differ between the two compilations.
struct Rules(Option<proc_macro2::TokenStream>);

impl Rules {
    fn refuse(&mut self, span: proc_macro2::Span, message: &str) {
        if self.0.is_none() {
            self.0 = Some(quote_spanned!(span=> compile_error!(#message);));
        }
    }
}

impl Visit<'_> for Rules {
    fn visit_expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Async(block) => self.refuse(
                block.span(),
                "a flow holds no `async` block: the immediate compilation would run it at once",
            ),
            Expr::Closure(closure) if closure.asyncness.is_some() => self.refuse(
                closure.span(),
                "a flow holds no `async` closure: the immediate compilation would run it at once",
            ),
            // `x.await` on a variable: the future was created earlier, where the immediate
            // compilation would already have run it.
            Expr::Await(awaited) if matches!(&*awaited.base, Expr::Path(_)) => self.refuse(
                awaited.span(),
                "a flow awaits a future where it creates it (`f(..).await`), not a variable \
                 holding one: the immediate compilation runs the call where it is made",
            ),
            _ => {}
        }
        visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, mac: &Macro) {
        for arg in awaiting_args(mac).iter().flatten() {
            self.visit_expr(arg);
        }
    }
}

/// Replaces each `base.await` by `base`, also inside macro calls whose arguments are
/// expressions (`vec![..]`, `format!(..)`).
struct StripAwait;

impl VisitMut for StripAwait {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        while let Expr::Await(awaited) = expr {
            let base = std::mem::replace(&mut *awaited.base, Expr::Verbatim(Default::default()));
            *expr = base;
        }
        visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        if let Some(mut args) = awaiting_args(mac) {
            for arg in args.iter_mut() {
                self.visit_expr_mut(arg);
            }
            mac.tokens = args.into_token_stream();
        }
    }
}

/// The arguments of a macro call that mentions `await`, when they are expressions
/// (`vec![..]`, `format!(..)`): the two visitors look into those. A macro whose arguments
/// are not expressions is left as it is, and an `await` in it fails to compile in the
/// immediate compilation (outside an `async fn`).
fn awaiting_args(mac: &Macro) -> Option<Punctuated<Expr, Token![,]>> {
    if !mentions_await(mac.tokens.clone()) {
        return None;
    }
    Punctuated::<Expr, Token![,]>::parse_terminated
        .parse2(mac.tokens.clone())
        .ok()
}

/// Whether `tokens` hold the keyword `await` at any depth.
fn mentions_await(tokens: proc_macro2::TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "await",
        proc_macro2::TokenTree::Group(group) => mentions_await(group.stream()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn immediate(item: proc_macro2::TokenStream) -> String {
        compile(item, Compilation::Immediate).to_string()
    }

    #[test]
    fn the_immediate_compilation_drops_async_and_every_await() {
        let out = immediate(quote! {
            async fn f(fx: &mut impl Effects) -> Result<u8, Flow> {
                let a = fx.store(&op).await?;
                let v = vec![fx.mint().await?, g(fx).await.await?];
                Ok(a + v.len())
            }
        });
        let expected = quote! {
            #[inline(always)]
            fn f(fx: &mut impl Effects) -> Result<u8, Flow> {
                let a = fx.store(&op)?;
                let v = vec![fx.mint()?, g(fx)?];
                Ok(a + v.len())
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn the_suspending_compilation_is_the_function_as_written() {
        let item = quote! { async fn f(fx: &mut impl Effects) -> u8 { fx.get().await } };
        let out = compile(item.clone(), Compilation::Suspending);
        assert_eq!(out.to_string(), item.to_string());
    }

    #[test]
    fn constructs_the_two_compilations_would_run_differently_are_refused() {
        let cases = [
            (quote! { fn f() {} }, "goes on an `async fn`"),
            (
                quote! { async fn f() { let g = async { 1 }; } },
                "no `async` block",
            ),
            (
                quote! { async fn f() { let g = async || 1; } },
                "no `async` closure",
            ),
            (
                quote! { async fn f(fx: &mut X) { let later = fx.get(); later.await } },
                "awaits a future where it creates it",
            ),
            (
                quote! { async fn f(fx: &mut X) { let later = fx.get(); vec![later.await] } },
                "awaits a future where it creates it",
            ),
        ];
        for (item, reason) in cases {
            for how in [Compilation::Suspending, Compilation::Immediate] {
                let out = compile(item.clone(), how).to_string();
                assert!(out.starts_with("compile_error !"), "{out}");
                assert!(out.contains(reason), "{out} should say {reason}");
            }
        }
    }
}
