# IdempotencyToken under concurrency (PCA-API.md §5.5, issue 3): 50 IssueCertificate
# calls with one token, sent at the same instant from 50 processes to a server with
# several worker processes and threads, return one CertificateArn, and the store holds
# one new certificate (counted in the sqlite file, read-only: independent of the audit
# report). A retry after the race returns the same ARN; 25 concurrent calls with 25
# tokens give 25 certificates (no write lost).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;
use POSIX ();
use Time::HiRes ();

plan tests => 10, need_module('acmpca');

my $R = make_root_active(key => 'EC_prime256v1', cn => uniq('Race Root'));
ok($R, 'an ACTIVE root');
my $CA = $R ? $R->{arn} : '';
my $csr = make_csr(subj => '/CN=race')->{csr};

# race(\@tokens) -> [[status, CertificateArn or __type], ...]: one process per token, all
# released at the same instant, each bounded by an alarm.
sub race {
    my $tokens = shift;
    my $start = Time::HiRes::time() + 2;
    my @kids;
    for my $i (0 .. $#$tokens) {
        my $out = write_file("race-$i.out", '');
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            alarm 120;
            Time::HiRes::sleep($start - Time::HiRes::time()) if $start > Time::HiRes::time();
            my($st, $j) = issue($CA, $csr, template => 'EndEntityCertificate/V1', token => $tokens->[$i]);
            open my $fh, '>', $out or POSIX::_exit(2);
            print $fh $st, "\t", ($j && ($j->{CertificateArn} // $j->{__type})) // '', "\n";
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, [$pid, $out];
    }
    my @res;
    for my $k (@kids) {
        waitpid $k->[0], 0;
        my($st, $v) = split /\t/, (read_file($k->[1]) =~ s/\n$//r), 2;
        push @res, [$st // 0, $v // ''];
    }
    \@res;
}

my $before = store_cert_count(ca_id_of($CA));
my $token = uniq('race');
my $res = race([($token) x 50]);
my @ok = grep { $_->[0] == 200 } @$res;
is(scalar @ok, 50, '50 concurrent calls with one token: every one answered 200')
    or diag(join "\n", map { "$_->[0] $_->[1]" } grep { $_->[0] != 200 } @$res);
my %arns = map { $_->[1] => 1 } @ok;
is(scalar keys %arns, 1, '... all with the same CertificateArn') or diag(join "\n", sort keys %arns);
my($arn) = keys %arns;
my $c = $arn ? get_cert($CA, $arn) : undef;
ok($c && $c->{Certificate}, 'GetCertificate returns that certificate');
lint_ok($c ? { cert => $c->{Certificate}, issuer => $R->{cert}, template => 'EndEntityCertificate/V1' } : undef,
        '... which passes the lint');
SKIP: {
    skip 'the store is not sqlite (or sqlite3 is missing)', 1 unless defined $before;
    is(store_cert_count(ca_id_of($CA)) - $before, 1, 'the store holds one new certificate');
}

my(undef, $j) = issue($CA, $csr, template => 'EndEntityCertificate/V1', token => $token);
is(($j || {})->{CertificateArn}, $arn, 'a retry after the race returns the same ARN');

$before = store_cert_count(ca_id_of($CA));
my @tokens = map { uniq('many') } 1 .. 25;
$res = race(\@tokens);
@ok = grep { $_->[0] == 200 } @$res;
%arns = map { $_->[1] => 1 } @ok;
ok(@ok == 25 && keys %arns == 25, '25 concurrent calls with 25 tokens: 25 different ARNs')
    or diag(join "\n", map { "$_->[0] $_->[1]" } @$res);
SKIP: {
    skip 'the store is not sqlite (or sqlite3 is missing)', 1 unless defined $before;
    is(store_cert_count(ca_id_of($CA)) - $before, 25, '... and 25 new certificates in the store');
}
my $rows = store_query("SELECT count(DISTINCT serial), count(*) FROM certs WHERE ca_id = '" . ca_id_of($CA) . "'");
ok(!$rows || $rows->[0][0] == $rows->[0][1], 'serial numbers are unique within the CA');
