# The lint on every certificate the suite has issued so far (issue 3: "every
# certificate any test issues goes through it"), read from the sqlite store (read-only)
# with each certificate's issuing CA certificate and template. Run after the client tests
# (t/api/399_lint_store.t ran it after the API tests).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;

plan tests => 2, need_module('acmpca');

my($n, $bad) = lint_store();
SKIP: {
    skip 'the store is not sqlite (or sqlite3 is missing): cannot read every certificate', 2 unless defined $n;
    ok($n > 0, "the store holds $n certificates");
    ok(!@$bad, "all $n pass the lint") or diag(join "\n", @$bad > 50 ? (@$bad[0 .. 49], '...') : @$bad);
}
