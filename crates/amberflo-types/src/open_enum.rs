//! `open_enum!`: enums of the closed sets the API names (notification types, lifecycle stages,
//! payment statuses, ...) that still accept values the server adds later, in an
//! `Other(String)` arm that round-trips the text unchanged.

/// Declares an open enum: known variants with their wire text, plus `Other(String)`.
///
/// Generated: `Debug, Clone, PartialEq, Eq, Hash`, `#[non_exhaustive]`, `as_str`, `KNOWN`,
/// `From<&str>` / `From<String>` (a known text always becomes its variant, so `Other` never
/// holds one when parsed), `Display`, string serde, and a string JSON Schema.
///
/// Written `open_enum! { any_case Name { ... } }`, a known text is recognised in any case
/// (`"sum"` is `Sum`, sent back as `"SUM"`); otherwise only exactly.
macro_rules! open_enum {
    (
        any_case
        $(#[$meta:meta])*
        $name:ident { $($body:tt)* }
    ) => {
        $crate::open_enum::open_enum!(@define same_text_any_case $(#[$meta])* $name { $($body)* });
    };
    (
        $(#[$meta:meta])*
        $name:ident { $($body:tt)* }
    ) => {
        $crate::open_enum::open_enum!(@define same_text $(#[$meta])* $name { $($body)* });
    };
    (
        @define $matches:ident
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the SDK does not know, kept exactly as the server sent
            /// it (and sent back unchanged).
            Other(String),
        }

        impl $name {
            /// The wire text of every known variant.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The text the API uses for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(text) => text,
                }
            }

            /// Whether this is a value the SDK does not know (`Other`).
            pub fn is_other(&self) -> bool {
                matches!(self, $name::Other(_))
            }

            /// Checks that an `Other` value is not blank; reported on `field`.
            pub(crate) fn check(&self, field: &'static str) -> Result<(), $crate::ValidationError> {
                $crate::validate::non_blank(field, self.as_str())
            }
        }

        impl $name {
            /// The known variant `text` names, if any.
            fn known(text: &str) -> Option<Self> {
                $( if $crate::open_enum::$matches(text, $wire) {
                    return Some($name::$variant);
                } )+
                None
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name::known(text).unwrap_or_else(|| $name::Other(text.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name::known(&text).unwrap_or($name::Other(text))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($name::from)
            }
        }

        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": concat!(
                        "One of the known values (see `examples`), or a value the server ",
                        "added later."
                    ),
                    "type": "string",
                    "minLength": 1,
                    "pattern": $crate::schema::NON_BLANK_PATTERN,
                    "examples": $name::KNOWN,
                })
            }
        }
    };
}

pub(crate) use open_enum;

/// Whether `text` is the wire text `wire`, exactly.
pub(crate) fn same_text(text: &str, wire: &str) -> bool {
    text == wire
}

/// Whether `text` is the wire text `wire` in any case.
pub(crate) fn same_text_any_case(text: &str, wire: &str) -> bool {
    text.eq_ignore_ascii_case(wire)
}
