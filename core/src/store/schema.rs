//! The one table's shape: key attributes and secondary indexes. The SQLite adapter, the
//! DynamoDB table bootstrap and the SAM template are all derived from this.

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// Epoch seconds after which DynamoDB's TTL may delete the item (lazily: reads check too).
pub const TTL: &str = "ttl";

/// Global secondary indexes. Each is sparse: an item is in it only when it has both keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
    Gsi5,
    /// Items that expire, by due time, for the scheduled sweep.
    Expiry,
}

impl Index {
    pub const ALL: [Index; 6] = [
        Index::Gsi1,
        Index::Gsi2,
        Index::Gsi3,
        Index::Gsi4,
        Index::Gsi5,
        Index::Expiry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Gsi1 => "GSI1",
            Self::Gsi2 => "GSI2",
            Self::Gsi3 => "GSI3",
            Self::Gsi4 => "GSI4",
            Self::Gsi5 => "GSI5",
            Self::Expiry => "EXPIRY",
        }
    }

    pub fn pk(self) -> &'static str {
        match self {
            Self::Gsi1 => "GSI1PK",
            Self::Gsi2 => "GSI2PK",
            Self::Gsi3 => "GSI3PK",
            Self::Gsi4 => "GSI4PK",
            Self::Gsi5 => "GSI5PK",
            Self::Expiry => "EXPIRY_PK",
        }
    }

    pub fn sk(self) -> &'static str {
        match self {
            Self::Gsi1 => "GSI1SK",
            Self::Gsi2 => "GSI2SK",
            Self::Gsi3 => "GSI3SK",
            Self::Gsi4 => "GSI4SK",
            Self::Gsi5 => "GSI5SK",
            Self::Expiry => "EXPIRY_SK",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// Every key attribute of the table and its indexes (all strings).
pub fn key_attributes() -> Vec<&'static str> {
    let mut attrs = vec![PK, SK];
    for index in Index::ALL {
        attrs.push(index.pk());
        attrs.push(index.sk());
    }
    attrs
}

/// Whether `name` is one of [`key_attributes`] (without making the list).
pub fn is_key_attribute(name: &str) -> bool {
    name == PK
        || name == SK
        || Index::ALL
            .into_iter()
            .any(|index| name == index.pk() || name == index.sk())
}
