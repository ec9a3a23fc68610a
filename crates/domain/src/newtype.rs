//! The conversions every validated string newtype of this crate shares.
//!
//! A newtype such as `EmailAddress(String)` is built only through its `parse`, so every way in
//! (`FromStr`, `TryFrom<String>`, serde through `try_from`) goes through that one check, and
//! every way out (`Display`, `AsRef<str>`, `From<_> for String`) hands back the normal form.

/// Implements `FromStr`, `TryFrom<String>`, `From<T> for String`, `Display` and `AsRef<str>`
/// for a tuple newtype over `String` with an inherent `parse(&str) -> Result<Self, $err>`.
macro_rules! string_newtype_impls {
    ($t:ty, $err:ty) => {
        impl ::std::str::FromStr for $t {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> Self {
                v.0
            }
        }
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

pub(crate) use string_newtype_impls;
