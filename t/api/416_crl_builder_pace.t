# The CRL builder thread paces each CA's passes (after a pass of d, the next waits 3d;
# src/ops/crl_busy.c) without letting one CA's wait hold another back: it builds the
# first queued CA whose pace allows a pass now (src/ops/crl_builder.c). On the vhost
# acmpca_certquota (ACMPCACrlSyncTime 0: every revocation leaves its CRL to the builder
# thread), root A holds 90,000 seeded revoked certificates, so its pass takes tens of ms
# and its pace some hundreds. Right after the builder's pass for a revocation on A, one
# more on A and then one on root B are queued: B's CRL is built first, and A's next pass
# only once its pace is over. A builder that took its queue in order would have waited
# out A's pace before building B. Paces and builder threads are per process: the three
# revocations go over one kept-alive connection, so to one httpd child.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use File::Spec::Functions qw(catfile);
use LWP::UserAgent ();
use Time::HiRes ();

use constant N => 90_000;

plan tests => 7, need_module('acmpca');
use_vhost('acmpca_certquota');

my $log = catfile(Apache::Test::vars('t_logs'), 'error_log');

# The builder thread's builds (logged without a request) of CA $id.
sub by_builder { qr/ACMPCA0702: CA \Q$_[0]\E: CRL \d+ published .*, revocation, [\d.]+ s\)\s*$/ }

# The log's lines from byte $from on.
sub log_since {
    my $from = shift;
    open my $fh, '<', $log or return ();
    seek $fh, $from, 0;
    <$fh>;
}

SKIP: {
    skip '/usr/bin/sqlite3 is not installed (scripts/deps.sh)', 7 unless -x '/usr/bin/sqlite3';

    # A CA there may issue three certificates: its own and two leaves.
    my $A = crl_root(cn => uniq('Pace Root A'));
    my @LA = $A ? (issue_leaf($A), issue_leaf($A)) : ();
    my $B = crl_root(cn => uniq('Pace Root B'));
    my $LB = $B && issue_leaf($B);
    ok(@LA == 2 && !(grep { !$_ } @LA) && $LB, 'roots A and B, two leaves of A, one of B')
        or BAIL_OUT('no CA');
    my $seed = seed_revoked($A->{id}, N, db => certquota_db());
    ok($seed->{rc} == 0, 'seeded ' . N . ' revoked certificates into A') or diag $seed->{err};

    # One connection for the revocations (ACMPCA::Test's agent opens one per request).
    my $ka = LWP::UserAgent->new(timeout => 180, keep_alive => 1, agent => 'acmpca-tests/1');
    no warnings 'redefine';
    local *ACMPCA::Test::ua = sub { $ka };
    use warnings 'redefine';

    my $from = -s $log;
    ok(revoke($A->{arn}, $LA[0]{serial}, 'KEY_COMPROMISE'), 'a revocation on A answers');
    # Polled closely: what follows must come within A's pace after this pass.
    my $deadline = Time::HiRes::time() + 30;
    my $a_built = by_builder($A->{id});
    Time::HiRes::sleep(0.01)
        until grep({ $_ =~ $a_built } log_since($from)) || Time::HiRes::time() > $deadline;
    ok(grep({ $_ =~ $a_built } log_since($from)), "the builder thread built A's CRL");

    ok(revoke($A->{arn}, $LA[1]{serial}, 'SUPERSEDED') && revoke($B->{arn}, $LB->{serial}, 'SUPERSEDED'),
       'then a revocation on A, and one on B');
    my $b_built = by_builder($B->{id});
    my @lines;
    wait_for(sub {
        @lines = log_since($from);
        (grep { $_ =~ $a_built } @lines) >= 2 && grep { $_ =~ $b_built } @lines;
    }, 20);
    my @a = grep { $lines[$_] =~ $a_built } 0 .. $#lines;
    my($b) = grep { $lines[$_] =~ $b_built } 0 .. $#lines;
    my %pids = map { $lines[$_] =~ /\[pid (\d+)/ ? ($1 => 1) : () } grep { defined } @a[0, 1], $b;
    ok(@a >= 2 && defined $b && $b < $a[1] && keys %pids == 1,
       "B's CRL came before A's next pass, which waited for its pace (one process)")
        or diag join '', grep { /ACMPCA070/ } @lines;

    my $ea = crl_entries(crl_text(crl_der_from_url(cdp_url($LA[0]{cert})) // ''));
    my $eb = crl_entries(crl_text(crl_der_from_url(cdp_url($LB->{cert})) // ''));
    ok($ea->{ $LA[0]{serial} } && $ea->{ $LA[1]{serial} } && $eb->{ $LB->{serial} },
       "A's CRL lists both of its revocations, B's its own");
}
