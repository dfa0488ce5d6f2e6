# ACMPCACrlSyncTime between its ends (src/ops/crl.c, acmpca_crl_publish_revocation): a
# revocation builds its CA's CRL before it answers when the wait it foresees (the rest
# of the CA's pace and its last pass in this process, src/ops/crl_busy.c) is within the
# limit, and leaves it to the process's CRL builder thread otherwise. The vhost
# acmpca_crlsync sets the limit to 50 ms. Root B's CRL is small: its pass takes a few ms
# (some 20 when the disk is slow to sync), and a revocation a second after the last one
# foresees just that. Root A's first CRL is small too; then it is seeded with 99,000
# revoked certificates: the first revocation foresees a small pass and builds one of
# tens of ms, and a second right after it foresees the pace and that pass again, some
# four times as long. Paces are per process: every request goes over one kept-alive
# connection, so to one httpd child.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use File::Spec::Functions qw(catfile);
use LWP::UserAgent ();

# Under ACMPCACrlSyncEntries (100,000), which would leave the CRL to the CRL job.
use constant N => 99_000;

plan tests => 8, need_module('acmpca');
use_vhost('acmpca_crlsync');

my $log = catfile(Apache::Test::vars('t_logs'), 'error_log');

# The log's lines from byte $from on.
sub log_since {
    my $from = shift;
    open my $fh, '<', $log or return ();
    seek $fh, $from, 0;
    <$fh>;
}

sub handed_over { qr/ACMPCA0712: CA \Q$_[0]\E: the CRL builder of this process republishes/ }
# A build by the request (its ID follows) or by the builder thread (logged without one).
sub by_request { qr/ACMPCA0702: CA \Q$_[0]\E: CRL \d+ published .*, revocation, [\d.]+ s\) \[request / }
sub by_builder { qr/ACMPCA0702: CA \Q$_[0]\E: CRL \d+ published .*, revocation, [\d.]+ s\)\s*$/ }

# The serials the CRL at $url lists, read right away.
sub listed { crl_entries(crl_text(crl_der_from_url($_[0]) // '')) }

SKIP: {
    my $store = main_store();
    skip '/usr/bin/sqlite3 is not installed (scripts/deps.sh)', 8
        if $store =~ /^sqlite:/ && !-x '/usr/bin/sqlite3';

    # One connection for every API call (ACMPCA::Test's agent opens one per request).
    my $ka = LWP::UserAgent->new(timeout => 180, keep_alive => 1, agent => 'acmpca-tests/1');
    no warnings 'redefine';
    local *ACMPCA::Test::ua = sub { $ka };
    use warnings 'redefine';

    my $A = crl_root(cn => uniq('Sync Root A'));
    my @LA = $A ? (issue_leaf($A), issue_leaf($A)) : ();
    my $B = crl_root(cn => uniq('Sync Root B'));
    my @LB = $B ? (issue_leaf($B), issue_leaf($B)) : ();
    ok(@LA == 2 && @LB == 2 && !(grep { !$_ } @LA, @LB), 'roots A and B, two leaves of each')
        or BAIL_OUT('no CA');
    # Both first CRLs are out (so a pass of them is the last either CA had) before A
    # holds its 99,000 revocations.
    ok(wait_for(sub { crl_der_from_url(cdp_url($LA[0]{cert})) && crl_der_from_url(cdp_url($LB[0]{cert})) }),
       'the first CRLs of A and B are published');
    my $seed = seed_revoked($A->{id}, N, store => $store);
    ok($seed->{rc} == 0, 'seeded ' . N . ' revoked certificates into A') or diag $seed->{err};

    # B first: its pass after its creation (this process's) is short, its pace over.
    my $from = -s $log;
    sleep 1;
    my @b_listed;
    for my $L (@LB) {
        ok(revoke($B->{arn}, $L->{serial}, 'SUPERSEDED') && listed(cdp_url($L->{cert}))->{ $L->{serial} },
           "a revocation on B answers once B's CRL lists it");
        sleep 1;
    }
    my @lines = log_since($from);
    ok((grep { $_ =~ by_request($B->{id}) } @lines) == 2 && !grep({ $_ =~ handed_over($B->{id}) } @lines),
       'each built the CRL itself: a short wait foreseen')
        or diag join '', grep { /ACMPCA07/ } @lines;

    # A: the first revocation's pass counts 99,001 entries; the second, right after it,
    # foresees the pace and that pass again, and hands its CRL to the builder thread.
    $from = -s $log;
    ok(revoke($A->{arn}, $LA[0]{serial}, 'KEY_COMPROMISE') && revoke($A->{arn}, $LA[1]{serial}, 'KEY_COMPROMISE'),
       'two revocations on A, one after the other');
    wait_for(sub { grep { $_ =~ by_builder($A->{id}) } log_since($from) }, 20);
    @lines = log_since($from);
    my $e = listed(cdp_url($LA[0]{cert}));
    ok((grep { $_ =~ by_request($A->{id}) } @lines) == 1 && (grep { $_ =~ handed_over($A->{id}) } @lines) == 1
       && grep({ $_ =~ by_builder($A->{id}) } @lines) && $e->{ $LA[0]{serial} } && $e->{ $LA[1]{serial} },
       'the first built the CRL itself, the second left it to the builder thread, whose CRL lists both')
        or diag join '', grep { /ACMPCA07/ } @lines;
}
