//! `dfs.client.block.write.replace-datanode-on-failure.*`: whether pipeline recovery asks the
//! NameNode for a DataNode to replace a failed one, as Hadoop's `ReplaceDatanodeOnFailure`.

/// The replacement policy (`...replace-datanode-on-failure.policy`, or `Disable` when
/// `...replace-datanode-on-failure.enable` is false).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// The feature is disabled in the entire site
    Disable,
    /// Never add a new datanode
    Never,
    /// Default policy based on replication conditions
    Default,
    /// Always add a new datanode when an existing datanode is removed
    Always,
}

/// A replacement policy and whether a failed replacement is tolerated (best effort).
#[derive(Debug, Clone)]
pub struct ReplaceDatanodeOnFailure {
    policy: Policy,
    best_effort: bool,
}

impl ReplaceDatanodeOnFailure {
    /// A policy; `best_effort` is `...replace-datanode-on-failure.best-effort`.
    pub fn new(policy: Policy, best_effort: bool) -> Self {
        Self {
            policy,
            best_effort,
        }
    }

    /// Best effort means that the client will try to replace the failed datanode
    /// (provided that the policy is satisfied), however, it will continue the
    /// write operation in case that the datanode replacement also fails.
    pub fn is_best_effort(&self) -> bool {
        self.best_effort
    }

    /// Does it need a replacement according to the policy? `existing_datanodes` is the number
    /// of DataNodes left in the pipeline, `is_append` whether the file was opened for append
    /// (not whether the block has bytes), `is_hflushed` whether hflush/hsync was called.
    pub fn should_replace(
        &self,
        replication: u32,
        existing_datanodes: usize,
        is_append: bool,
        is_hflushed: bool,
    ) -> bool {
        let n = existing_datanodes;
        if n == 0 || n >= replication as usize {
            // Don't need to add datanode for any policy
            return false;
        }

        match self.policy {
            Policy::Disable | Policy::Never => false,
            Policy::Always => true,
            Policy::Default => {
                // DEFAULT condition:
                // Let r be the replication number.
                // Let n be the number of existing datanodes.
                // Add a new datanode only if r >= 3 and either
                // (1) floor(r/2) >= n; or
                // (2) r > n and the block is hflushed/appended.
                if replication < 3 {
                    false
                } else if n <= (replication as usize / 2) {
                    true
                } else {
                    is_append || is_hflushed
                }
            }
        }
    }
}

impl Default for ReplaceDatanodeOnFailure {
    fn default() -> Self {
        Self {
            policy: Policy::Default,
            best_effort: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_should_replace_policy_disable() {
        let replace = ReplaceDatanodeOnFailure::new(Policy::Disable, true);
        assert!(!replace.should_replace(3, 0, false, false));
        assert!(!replace.should_replace(3, 1, false, false));
        assert!(!replace.should_replace(3, 2, false, false));
    }

    #[test]
    fn test_should_replace_policy_never() {
        let replace = ReplaceDatanodeOnFailure::new(Policy::Never, true);
        assert!(!replace.should_replace(3, 0, false, false));
        assert!(!replace.should_replace(3, 1, false, false));
        assert!(!replace.should_replace(3, 2, false, false));
    }

    #[test]
    fn test_should_replace_policy_always() {
        let replace = ReplaceDatanodeOnFailure::new(Policy::Always, true);
        assert!(!replace.should_replace(3, 0, false, false));
        assert!(replace.should_replace(3, 1, false, false));
        assert!(replace.should_replace(3, 2, false, false));
        assert!(!replace.should_replace(3, 3, false, false));
    }

    #[test]
    fn test_should_replace_policy_default() {
        let replace = ReplaceDatanodeOnFailure::new(Policy::Default, true);

        // Replication < 3, should never replace
        assert!(!replace.should_replace(2, 1, false, false));

        // Replication >= 3, n <= r/2, should replace
        assert!(replace.should_replace(3, 1, false, false));

        // Replication >= 3, n > r/2, not append/hflushed, should not replace
        assert!(!replace.should_replace(3, 2, false, false));

        // Replication >= 3, n > r/2, append, should replace
        assert!(replace.should_replace(3, 2, true, false));

        // Replication >= 3, n > r/2, hflushed, should replace
        assert!(replace.should_replace(3, 2, false, true));
    }
}
