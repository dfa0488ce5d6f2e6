# Crash safety (issue 8): the server's clock jumps (NTP step, VM restore). A private httpd
# runs under libfaketime, its clock set from a file the test rewrites: after the clock
# goes back two days, and after it comes back from a day ahead, a CRL's thisUpdate never
# goes backwards and its number keeps growing, whether a revocation or the periodic job
# rebuilds it.
#
# The server trusts callers without checking signatures (ACMPCAAuthentication none): a
# client's clock and the server's must disagree here. Needs faketime (scripts/deps.sh).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config issue_leaf crl_number crl_dates crl_entries crl_text);
use ACMPCA::Private;
use File::Spec::Functions qw(catfile);
use Time::HiRes ();

# Private servers with a sqlite store of their own: once per `make test`, not again in
# the redis run (make api-redis), which would test the same thing.
if ($ENV{ACMPCA_TEST_STORE}) {
    plan skip_all => 'runs in the sqlite pass of the suite';
}

my($lib) = grep { -e } map { "/usr/lib/$_/faketime/libfaketimeMT.so.1" } qw(x86_64-linux-gnu aarch64-linux-gnu);
if (!$lib) {
    plan skip_all => 'libfaketime is not installed (package faketime)';
}
# libfaketime and the ASan runtime preloaded together hang httpd at start.
if ($ENV{ACMPCA_TEST_ASAN}) {
    plan skip_all => 'libfaketime cannot be preloaded next to ASan (make test-asan)';
}
plan tests => 12, need_module('acmpca');

# Each revocation waits for its CRL, which the test reads right after: libfaketime moves
# CLOCK_MONOTONIC too, so a wait foreseen from the pace of a pass a day away would
# otherwise leave the CRL to the builder thread.
my $s = ACMPCA::Private->new(name => 'clock',
    extra => "ACMPCAAuthentication none\nACMPCACrlRefreshInterval 2\nACMPCACrlSyncTime 60000");
my $clock = catfile($s->root, 'faketime');
sub set_clock {
    my $spec = shift;
    open my $fh, '>', "$clock.new" or die $!;
    print $fh "$spec\n";
    close $fh;
    chmod 0644, "$clock.new";
    rename "$clock.new", $clock or die $!;
    Time::HiRes::sleep(0.2);
}
set_clock('+0');
$s->{env} = { LD_PRELOAD => $lib, FAKETIME_TIMESTAMP_FILE => $clock, FAKETIME_NO_CACHE => 1,
              FAKETIME_DONT_RESET => 1 };
ok($s->start, 'a private httpd under libfaketime answers') or BAIL_OUT('no private server');

my $CA = $s->with(sub { make_root_active(cn => uniq('Clock Root'),
    extra => { RevocationConfiguration => revocation_config(bucket => 'clock-crl') }) });
ok($CA, 'an ACTIVE root CA with CRLs') or BAIL_OUT('no CA');
$CA->{signing} = 'SHA256WITHECDSA';
my($ca_id) = $CA->{arn} =~ m{/([0-9a-f-]{36})$};
my @leaves = map { $s->with(sub { issue_leaf($CA) }) } 1 .. 4;
ok(4 == grep({ $_ } @leaves), 'four end-entity certificates');

my $url = $s->endpoint . "/crl/$ca_id.crl";
sub crl_now {
    my $res = ACMPCA::Revoke::http_get($url);
    return unless $res->code == 200;
    my($this, $next) = crl_dates($res->content);
    return { number => crl_number($res->content), this => $this, next => $next, der => $res->content };
}
sub revoke_one {
    my $leaf = shift;
    my($st) = $s->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateSerial => $leaf->{serial},
                                              RevocationReason => 'KEY_COMPROMISE' });
    $st;
}

is(revoke_one($leaves[0]), 200, 'a revocation at the true time');
my $c1 = crl_now();
ok($c1 && $c1->{this} && abs($c1->{this} - time) < 120, "CRL $c1->{number} has thisUpdate now")
    or diag(json_encode($c1 // {}) =~ s/"der":"[^"]*"//r);

# Two days back.
set_clock('-2d');
is(revoke_one($leaves[1]), 200, 'a revocation after the clock went back two days');
my $c2 = crl_now();
ok($c2 && $c2->{number} > $c1->{number}, "a newer CRL ($c2->{number}) lists it")
    and ok(crl_entries(crl_text($c2->{der}))->{ $leaves[1]{serial} =~ s/^0+(?=.)//r }, '... with the revoked serial');
ok($c2 && $c2->{this} >= $c1->{this}, 'its thisUpdate did not go backwards')
    or diag("thisUpdate went from $c1->{this} to $c2->{this}");

# A day ahead, then back to the true time; the periodic job gets a chance as well.
set_clock('+1d');
revoke_one($leaves[2]);
my $c3 = crl_now();
set_clock('+0');
Time::HiRes::sleep(5);    # two runs of the job
revoke_one($leaves[3]);
my $c4 = crl_now();
ok($c3 && $c4 && $c4->{number} > $c3->{number}, "CRL numbers keep growing ($c1->{number}, $c2->{number}, $c3->{number}, $c4->{number})");
ok($c3 && $c4 && $c4->{this} >= $c3->{this}, 'thisUpdate does not go backwards when the clock returns from a day ahead')
    or diag("thisUpdate went from $c3->{this} to $c4->{this}");
ok($c4 && $c4->{next} > $c4->{this}, 'nextUpdate stays after thisUpdate');
$s->stop;
