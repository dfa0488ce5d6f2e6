# Revocations that come while their CA's CRL is being built (issue 7; src/ops/crl_busy.c):
# the pass under way owes them another, and the revocation that built hands that pass to
# the CRL builder thread of its process (ACMPCA0714) rather than building it itself, so
# that no revocation waits for the CRLs of others. Two revocations sent at the same
# instant on a CA with 60,000 seeded revoked certificates (a pass of tens of ms, under
# ACMPCACrlSyncEntries): one builds, the other comes during its pass, in the same process
# (the pass is marked dirty) or in another (the store's CRL lock is marked wanted). A
# round where the two did not overlap is tried again with two more leaves. Within 10 s,
# before the CRL job's repair of a CRL that lacks revocations (15 s), the builder thread
# builds that pass (a build logged without a request), and the CRL lists both.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use POSIX ();
use Time::HiRes ();

use constant N      => 60_000;
use constant ROUNDS => 4;

plan tests => 6, need_module('acmpca');
use_vhost();

# Both revocations at one instant, each from a process of its own: their statuses.
sub revoke_together {
    my($R, @leaves) = @_;
    my $start = Time::HiRes::time() + 1;
    my @kids;
    for my $i (0 .. $#leaves) {
        my $out = write_file("owed-$i.out", '');
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            alarm 120;
            Time::HiRes::sleep($start - Time::HiRes::time()) if $start > Time::HiRes::time();
            my $res = revoke_res($R->{arn}, $leaves[$i]{serial}, 'KEY_COMPROMISE');
            open my $fh, '>', $out or POSIX::_exit(2);
            print $fh $res->code;
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, [$pid, $out];
    }
    map { waitpid $_->[0], 0; read_file($_->[1]) } @kids;
}

SKIP: {
    my $tool = store_db() ? '/usr/bin/sqlite3' : '/usr/bin/redis-cli';
    skip "$tool is not installed (scripts/deps.sh)", 6 unless -x $tool;

    my $R = crl_root(cn => uniq('Owed Pass Root'));
    my $crl_url = $R && cdp_url((issue_leaf($R) // {})->{cert} // '');
    ok($R && $crl_url && crl_der_from_url($crl_url), 'a root with a CRL') or BAIL_OUT('no CA');
    my $seed = seed_revoked($R->{id}, N);
    ok($seed->{rc} == 0, 'seeded ' . N . ' revoked certificates') or diag $seed->{err};

    my $owed = qr/ACMPCA0714: CA \Q$R->{id}\E: revocations came during this CRL pass/;
    my $by_builder = qr/ACMPCA0702: CA \Q$R->{id}\E: CRL \d+ published .*, revocation, [\d.]+ s\)\s*$/;
    my($owed0, $built0) = (scalar error_log_lines($owed), scalar error_log_lines($by_builder));
    my(@revoked, @status);
    for my $round (1 .. ROUNDS) {
        my @leaves = (issue_leaf($R), issue_leaf($R));
        last if grep { !$_ } @leaves;
        push @status, revoke_together($R, @leaves);
        push @revoked, @leaves;
        last if error_log_lines($owed) > $owed0;
        diag "round $round: the two revocations did not overlap a pass";
    }
    is_deeply([grep { $_ ne '200' } @status], [], 'every revocation answers 200')
        or diag "@status";
    ok(error_log_lines($owed) > $owed0,
       'one came during the pass of another, which handed the pass it owed to the builder thread');

    ok(wait_for(sub { error_log_lines($by_builder) > $built0 }, 10),
       'within 10 s the builder thread builds that pass (a build logged without a request)');
    my $der = crl_der_from_url($crl_url);
    my $e = $der ? crl_entries(crl_text($der)) : {};
    ok(@revoked && !(grep { !$e->{ $_->{serial} } } @revoked) && crl_verify($der, $R->{cert}),
       'the CRL, signed by the CA, lists every one') or diag scalar(@revoked) . ' revoked';
}
