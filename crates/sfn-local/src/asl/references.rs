//! Variable references checked against the variables a definition assigns: a
//! `$name` that no `Assign` of its scope (its state machine, a Parallel branch or a
//! Map processor) or of an enclosing scope ever sets can never hold a value, so the
//! definition is refused, as `CreateStateMachine` refuses it.
//!
//! The check is deliberately the loose one: a variable assigned anywhere in scope
//! counts, whichever order the states run in.

use std::collections::HashSet;

/// The scopes of a definition being read, and the references found in them.
#[derive(Default)]
pub(super) struct Scopes {
    /// The names each scope assigns; scope 0 is the top-level machine.
    assigned: Vec<HashSet<String>>,
    /// The scopes enclosing the place being read, innermost last.
    open: Vec<usize>,
    /// Each reference: the name, its place, and the scopes it can see.
    references: Vec<(String, String, Vec<usize>)>,
}

impl Scopes {
    /// A state machine, Parallel branch or Map processor starts.
    pub(super) fn enter(&mut self) {
        self.open.push(self.assigned.len());
        self.assigned.push(HashSet::new());
    }

    pub(super) fn leave(&mut self) {
        self.open.pop();
    }

    pub(super) fn assign(&mut self, name: &str) {
        if let Some(scope) = self.open.last().and_then(|id| self.assigned.get_mut(*id)) {
            scope.insert(name.to_owned());
        }
    }

    pub(super) fn reference(&mut self, name: &str, at: &str) {
        self.references.push((name.to_owned(), at.to_owned(), self.open.clone()));
    }

    /// The references no visible scope assigns: `(name, place)`.
    pub(super) fn unassigned(&self) -> Vec<(&str, &str)> {
        self.references
            .iter()
            .filter(|(name, _, visible)| {
                !visible.iter().any(|id| self.assigned.get(*id).is_some_and(|s| s.contains(name)))
            })
            .map(|(name, at, _)| (name.as_str(), at.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_scopes_see_outer_assignments_and_not_the_reverse() {
        let mut scopes = Scopes::default();
        scopes.enter();
        scopes.reference("late", "/States/A");
        scopes.reference("inner", "/States/A");
        scopes.enter();
        scopes.assign("inner");
        scopes.reference("late", "/States/M/ItemProcessor/States/B");
        scopes.leave();
        scopes.assign("late");
        scopes.leave();
        assert_eq!(scopes.unassigned(), vec![("inner", "/States/A")]);
    }
}
