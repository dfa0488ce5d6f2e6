# The emulated S3 namespace (PCA-API.md §9; issue 4 item 5): S3-style 404 for what
# does not exist; audit reports only for a signed request of a principal of the
# CA's account (403 AccessDenied otherwise, before anything about the object is
# said); traversal attempts on every object route get 4xx and read or create no
# file outside the module's data.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use File::Find ();
use File::Spec::Functions qw(catfile);

plan tests => 19, need_module('acmpca');
use_vhost();

my $R = crl_root(cn => uniq('Objects Root'));
my $L = issue_leaf($R);
my $bucket = 'reports-' . $$;
my(undef, $j) = api(CreateCertificateAuthorityAuditReport => { CertificateAuthorityArn => $R ? $R->{arn} : '',
    S3BucketName => $bucket, AuditReportResponseFormat => 'JSON' });
my $key = ($j || {})->{S3Key} // 'none';
ok($R && $L && $key =~ m{^audit-report/}, 'a CA with a CRL and an audit report');

sub s3_error_is {
    my($res, $status, $code, $name) = @_;
    my $body = ref $res eq 'HASH' ? $res->{body} : $res->content;
    my $st = ref $res eq 'HASH' ? $res->{code} : $res->code;
    ok($st == $status && $body =~ m{^<\?xml.*<Error><Code>\Q$code\E</Code>}s, $name)
        or diag "$st: $body";
}

# Nothing there: NoSuchKey, as S3 says it.
my $res = raw_request(GET => '/no-such-bucket/no/such/key', '', -unsigned => 1, 'Content-Type' => undef);
s3_error_is($res, 404, 'NoSuchKey', 'an unknown object: 404 NoSuchKey');
is($res->header('Content-Type'), 'application/xml', '... as application/xml');
s3_error_is(raw_request(GET => '/', '', -unsigned => 1, 'Content-Type' => undef), 404, 'NoSuchKey', 'GET /: 404 NoSuchKey');

# Reports are private.
$res = raw_request(GET => "/$bucket/$key", '', -unsigned => 1, 'Content-Type' => undef);
s3_error_is($res, 403, 'AccessDenied', 'an unsigned GET of a report: 403 AccessDenied');
$res = raw_request(HEAD => "/$bucket/$key", '', -unsigned => 1, 'Content-Type' => undef);
ok($res->code == 403 && $res->content eq '', '... HEAD too');
s3_error_is(raw_request(GET => "/$bucket/audit-report/$R->{id}/00000000-0000-0000-0000-000000000000.json", '',
                        -unsigned => 1, 'Content-Type' => undef),
    403, 'AccessDenied', '... an unsigned GET of a report that does not exist: 403 as well (nothing leaks)');
my $c = credentials();
s3_error_is(raw_request(GET => "/$bucket/$key", '', 'Content-Type' => undef,
                        -credentials => { AccessKeyId => $c->{AccessKeyId}, SecretAccessKey => 'x' x 40 }),
    403, 'SignatureDoesNotMatch', 'a wrong secret: 403 SignatureDoesNotMatch');
s3_error_is(raw_request(GET => "/$bucket/$key", '', 'Content-Type' => undef,
                        -credentials => { AccessKeyId => 'AKIAUNKNOWNUNKNOWN00', SecretAccessKey => 'x' x 40 }),
    403, 'InvalidAccessKeyId', 'an unknown access key: 403 InvalidAccessKeyId');
$res = raw_request(GET => "/$bucket/$key", '', 'Content-Type' => undef);
ok($res->code == 200 && ref json_decode($res->content) eq 'ARRAY', 'signed by the owner: 200 and the report');
s3_error_is(raw_request(GET => "/$bucket/audit-report/$R->{id}/00000000-0000-0000-0000-000000000000.json", '', 'Content-Type' => undef),
    404, 'NoSuchKey', '... a report that does not exist: 404 NoSuchKey');
$res = raw_request(GET => "/$R->{bucket}/crl/$R->{id}.crl", '', 'Content-Type' => undef);
ok($res->code == 200 && crl_verify($res->content, $R->{cert}), 'a CRL, public, is served to signed requests too');

# Another account may not read it (the suite's multi-account vhost).
my $creds = json_decode(read_file(catfile(Apache::Test::vars('t_conf'), 'acmpca-auth-credentials.json')));
my($alice, $bob) = grep { $_->{AccessKeyId} && !$_->{Policy} && !$_->{SessionToken} } @{ ($creds || {})->{Credentials} || [] };
SKIP: {
    skip 'no second account in t/conf/acmpca-auth-credentials.json', 3 unless $alice && $bob;
    with_vhost('acmpca_auth', sub { with_credentials($alice, sub {
        my $A = make_root_active(cn => uniq('Alice Root'));
        my(undef, $aj) = api(CreateCertificateAuthorityAuditReport => { CertificateAuthorityArn => $A ? $A->{arn} : '',
            S3BucketName => $bucket, AuditReportResponseFormat => 'CSV' });
        my $akey = ($aj || {})->{S3Key} // 'none';
        ok(raw_request(GET => "/$bucket/$akey", '', 'Content-Type' => undef)->code == 200, "account $alice->{AccountId}: its own report");
        s3_error_is(raw_request(GET => "/$bucket/$akey", '', 'Content-Type' => undef, -credentials => $bob),
            403, 'AccessDenied', "account $bob->{AccountId}: 403 AccessDenied");
        s3_error_is(raw_request(GET => "/$bucket/$akey", '', 'Content-Type' => undef, -unsigned => 1),
            403, 'AccessDenied', 'unsigned: 403 AccessDenied');
    }) });
}

# Traversal: the request line exactly as sent. Sentinels outside the data dir must
# never come back, and no file may appear.
my $sentinel = "sentinel-$$";
my $outside = catfile(Apache::Test::vars('t_dir'), $sentinel);
write_file_at($outside, "SECRET-$$");
sub write_file_at { open my $fh, '>', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh }
sub snapshot {
    my %f;
    File::Find::find({ no_chdir => 1, wanted => sub {
        $File::Find::prune = 1 if m{/t/logs$|/t/data$};
        $f{$File::Find::name} = 1;
    } }, Apache::Test::vars('t_dir'));
    # /tmp is shared with other processes: only names these requests could make
    opendir my $dh, '/tmp' or return \%f;
    $f{"/tmp/$_"} = 1 for grep { /passwd|sentinel|^etc$|^crl/ } readdir $dh;
    \%f;
}
my $before = snapshot();
my $id = $R->{id};
my @attempts = (
    "/$R->{bucket}/../../etc/passwd", "/$R->{bucket}/%2e%2e/%2e%2e/etc/passwd",
    "/$R->{bucket}/crl/..%2f..%2f..%2fetc%2fpasswd", "/..%2f..%2f..%2fetc%2fpasswd",
    "/crl/../../../etc/passwd", "/crl/..%2f$id.crl", "/$R->{bucket}//crl/$id.crl",
    "/$R->{bucket}/./crl/$id.crl", "/$R->{bucket}/crl/$id.crl%00.pem", "/$R->{bucket}/crl/%00",
    "/$R->{bucket}/crl\\..\\..\\$sentinel", "/$R->{bucket}/" . ('a' x 3000), "/%2e%2e/%2e%2e/etc/passwd",
    "/$R->{bucket}/audit-report/../crl/$id.crl", "/$R->{bucket}/crl/", "//etc/passwd", "/./etc/passwd",
    "/$R->{bucket}/crl/$id.crl/.", "/$R->{bucket}/crl/$id.crl/..", "http://evil.example/../../etc/passwd",
    "/../$sentinel", "/$R->{bucket}/..%2f$sentinel", "/ocsp/../../etc/passwd", "/ocsp/./$sentinel",
    "/crl/%2e%2e%2f%2e%2e%2f$sentinel", "/Upper_Case/crl/$id.crl", "/$bucket/" . ($key =~ s{/}{/../}r),
);
my(@not4xx, @leak);
for my $t (@attempts) {
    for my $m (qw(GET HEAD)) {
        my $r = raw_http($m, $t);
        push @not4xx, "$m $t: $r->{code}" unless $r->{code} >= 400 && $r->{code} < 500;
        push @leak, "$m $t" if $r->{body} =~ /root:x:0|SECRET-$$/;
    }
}
ok(!@not4xx, 'every traversal attempt on the object routes: 4xx (' . scalar(@attempts) . ' paths, GET and HEAD)')
    or diag join "\n", @not4xx;
ok(!@leak, '... and nothing from outside the data came back') or diag join "\n", @leak;
my $after = snapshot();
my @new = grep { !$before->{$_} && !/acmpca-t-|\Q$sentinel\E/ } keys %$after;
ok(!@new, '... and no file appeared') or diag join "\n", @new;
unlink $outside;

# The routes still work after all that.
ok(crl_verify(crl_der_from_url(cdp_url($L->{cert})), $R->{cert}), 'the CRL is still served');
