# The test server starts with the module loaded and the API answers on its vhost;
# the default server, which has no SetHandler acmpca, exposes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 15, need_module('acmpca');

my($st, $j, $res) = api(ListCertificateAuthorities => {});
is($st, 200, 'ListCertificateAuthorities answers 200');
is(ref $j, 'HASH', 'the body is a JSON object');
is(ref($j && $j->{CertificateAuthorities}), 'ARRAY', 'with a CertificateAuthorities list');
like($res->header('Content-Type') // '', qr{^application/x-amz-json-1\.1\b}, 'Content-Type application/x-amz-json-1.1');
my $rid = $res->header('x-amzn-RequestId') // '';
like($rid, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'x-amzn-RequestId is a UUID');

my(undef, undef, $res2) = api(ListCertificateAuthorities => {});
my $rid2 = $res2->header('x-amzn-RequestId') // '';
ok(length $rid2 && $rid2 ne $rid, 'each response has its own x-amzn-RequestId');

# The endpoint listens on loopback only.
like(endpoint(), qr{^http://127\.0\.0\.1:\d+$}, 'the API endpoint is on 127.0.0.1');
my $conf = read_file(Apache::Test::vars('t_conf_file'));
my @listen = $conf =~ /^\s*Listen\s+(\S+)/mg;
ok(@listen && !grep({ !/^127\.0\.0\.1:\d+$/ } @listen), 'httpd.conf listens on 127.0.0.1 only')
    or diag("Listen: @listen");
my $extra = read_file(Apache::Test::vars('t_conf') . '/extra.conf');
my @xlisten = $extra =~ /^\s*Listen\s+(\S+)/mg;
ok(@xlisten && !grep({ !/^127\.0\.0\.1:\d+$/ } @xlisten), 'the API vhosts listen on 127.0.0.1 only')
    or diag("Listen: @xlisten");

# The default server has the module loaded but no handler: no API there.
my $d = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}', -module => 'default');
ok(!$d->header('x-amzn-RequestId'), 'the default server does not answer the API (no x-amzn-RequestId)');
ok(!(json_decode($d->content) // {})->{CertificateAuthorities}, '... and no CertificateAuthorities');

# The KEK the server was given is 32 bytes, mode 0600.
my $kek = Apache::Test::vars('acmpca_kek');
ok(-s $kek == 32 && ((stat $kek)[2] & 07777) == 0600, 'the test KEK is 32 bytes, mode 0600');

# No file stands behind the API: httpd skips the directory walk for the handler's
# requests. acmpca_quota's DocumentRoot holds a broken .htaccess (AllowOverride All):
# the API and the CRL route never read it, a request for a file there does.
my($qst) = api(ListCertificateAuthorities => {}, -module => 'acmpca_quota');
is($qst, 200, 'the API answers under a DocumentRoot whose .htaccess is broken');
my $crl = raw_request(GET => '/crl/00000000-0000-0000-0000-000000000000.crl', undef,
                      -module => 'acmpca_quota', -unsigned => 1);
is($crl->code, 404, '... and so does a CRL route (404: no such CRL)');
my $file = raw_request(GET => '/files/', undef, -module => 'acmpca_quota', -unsigned => 1);
is($file->code, 500, 'a request for a file there reads the .htaccess and fails (500)');
