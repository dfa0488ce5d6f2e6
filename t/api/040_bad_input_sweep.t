# Bad-input sweep (issue 8): the committed fuzz corpora (t/fuzz/corpus), real requests
# and hostile ones, sent over HTTP to a real server. Every API body gets an AWS answer
# (200, or 4xx JSON with __type and a message, never 5xx), every S3-style name and OCSP
# request gets its answer, every raw request of the SigV4 corpus is answered, odd framing
# (no length, chunked, too long, cut short) is survived, and afterwards the server has
# not lost a child. On a private httpd (ACMPCA::Private): the corpora create CAs and tags
# the suite's store need not hold.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke ();
use ACMPCA::Private;
use File::Spec::Functions qw(catfile catdir);
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes ();

# Private servers with a sqlite store of their own: once per `make test`, not again in
# the redis run (make api-redis), which would test the same thing.
if ($ENV{ACMPCA_TEST_STORE}) {
    plan skip_all => 'runs in the sqlite pass of the suite';
}

my $corpus = catdir($FindBin::Bin, '..', 'fuzz', 'corpus');
sub files { my $d = catdir($corpus, shift); opendir my $dh, $d or return (); map { catfile($d, $_) } sort grep { !/^\./ } readdir $dh }
my @requests = (files('fuzz_request'), files('fuzz_ops'));
my @objects = files('fuzz_object');
my @ocsp = files('fuzz_ocsp');
my @raw = files('fuzz_sigv4');

plan tests => 8, need_module('acmpca');

my $s = ACMPCA::Private->new(name => 'sweep', extra => 'ACMPCAMaxBodySize 65536');
ok($s->start, 'a private httpd answers') or BAIL_OUT('no private server');
my $ca = $s->with(sub { make_root_active(cn => uniq('Sweep Root')) });
my($ca_id) = $ca ? $ca->{arn} =~ m{/([0-9a-f-]{36})$} : ('');
my $k = openssl_key_csr(subj => '/CN=sweep.example.com');
my $leaf = $ca ? $s->with(sub { issue_ca_cert($ca->{arn}, $k->{csr}, template => 'arn:aws:acm-pca:::template/EndEntityCertificate/V1',
                                            validity => { Type => 'DAYS', Value => 7 }) }) : undef;
my %place = ('@CA_ARN@' => $ca ? $ca->{arn} : '', '@CA_ID@' => $ca_id, '@CERT_ARN@' => $leaf // '',
             '@CERT_SERIAL@' => ($leaf // '') =~ m{/certificate/([0-9a-f]+)$} ? $1 : '00', '@BUCKET@' => 'sweep-bucket');
sub expand { my $t = shift; $t =~ s/(\@[A-Z_]+\@)/$place{$1} \/\/ $1/ge; $t }

# ---- API bodies
my(@bad, $n);
for my $f (@requests) {
    my $text = read_file($f);
    my($op, $body) = split /\n/, $text, 2;
    $body = expand($body // '') if $f =~ m{/fuzz_ops/};
    my $res = $s->with(sub { raw_post("ACMPrivateCA.$op", $body // '') });
    $n++;
    my $j = json_decode($res->content);
    my $ok = $res->header('x-amzn-RequestId') && ref $j eq 'HASH'
        && ($res->code == 200 || ($res->code >= 400 && $res->code < 500 && $j->{__type} && $j->{message}));
    push @bad, sprintf('%s: %d %s', $f =~ s{.*/corpus/}{}r, $res->code, substr($res->content // '', 0, 200)) unless $ok;
}
ok($n && !@bad, "$n API bodies of the corpora: each an AWS answer, none a 5xx") or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

# ---- object names (GET /<bucket>/<key>, unsigned and signed)
@bad = ();
$n = 0;
for my $f (@objects) {
    my($bucket, $key) = split /\n/, expand(read_file($f)), 2;
    (my $path = "/$bucket/" . ($key // '')) =~ s/([^A-Za-z0-9\-._~\/])/sprintf '%%%02X', ord $1/ge;
    for my $signed (0, 1) {
        my $res = $s->with(sub { raw_request(GET => $path, '', 'Content-Type' => undef, ($signed ? () : (-unsigned => 1))) });
        $n++;
        push @bad, sprintf('%s%s: %d', $signed ? 'signed ' : '', $path, $res->code)
            unless $res->code =~ /^(200|304|400|403|404|405)$/;
    }
}
ok($n && !@bad, "$n GETs of the object names: each a 2xx/4xx") or diag(join "\n", @bad);

# ---- OCSP requests, POST and GET
@bad = ();
$n = 0;
for my $f (@ocsp) {
    my $der = read_file($f);
    my $post = ACMPCA::Revoke::http_post($s->endpoint . '/ocsp', $der, 'Content-Type' => 'application/ocsp-request');
    my $get = ACMPCA::Revoke::http_get($s->endpoint . '/ocsp/' . (encode_base64($der, '') =~ s/([+\/=])/sprintf '%%%02X', ord $1/ger));
    $n += 2;
    for my $r ([POST => $post], [GET => $get]) {
        push @bad, "$r->[0] $f: " . $r->[1]->code
            unless $r->[1]->code == 200 && ($r->[1]->header('Content-Type') // '') eq 'application/ocsp-response';
    }
}
ok($n && !@bad, "$n OCSP requests: each answered 200 with an OCSPResponse") or diag(join "\n", @bad);

# ---- raw requests: the SigV4 corpus, as bytes on a socket
sub raw_exchange {
    my($bytes, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->{port}, Timeout => 10) or return '';
    print $sock $bytes;
    shutdown($sock, 1) if $o{half_close};
    my $out = '';
    my $deadline = Time::HiRes::time() + ($o{timeout} // 15);
    $sock->blocking(0);
    while (Time::HiRes::time() < $deadline) {
        my $r = sysread($sock, my $buf, 65536);
        last if defined $r && $r == 0;
        if ($r) { $out .= $buf; next }
        Time::HiRes::sleep(0.02);
    }
    close $sock;
    $out;
}
@bad = ();
$n = 0;
for my $f (@raw) {
    my($method, $path, $query, @rest) = split /\n/, read_file($f), -1;
    my(@h, $body);
    while (@rest) {
        my $l = shift @rest;
        if ($l eq '') { $body = join "\n", @rest; last }
        push @h, $l unless $l =~ /^(Host|Content-Length|Connection):/i;
    }
    $body //= '';
    $path = '/' unless defined $path && $path =~ m{^/} && $path !~ /[\s\x00-\x1f]/;
    $query = '' if !defined $query || $query =~ /[\s\x00-\x1f]/;
    my $req = join("\r\n", "$method $path" . ($query ne '' ? "?$query" : '') . ' HTTP/1.1',
                   'Host: ' . $s->hostport, 'Connection: close', 'Content-Length: ' . length($body),
                   grep({ !/[\r\n]/ } @h)) . "\r\n\r\n" . $body;
    my $out = raw_exchange($req);
    $n++;
    my($code) = $out =~ m{^HTTP/1\.1 (\d{3})};
    push @bad, sprintf('%s: %s', $f =~ s{.*/corpus/}{}r, $code // 'no answer') unless $code && $code < 500;
}
ok($n && !@bad, "$n raw requests of the SigV4 corpus: each answered, none with a 5xx") or diag(join "\n", @bad);

# ---- framing
my $hp = $s->hostport;
my $target = "X-Amz-Target: ACMPrivateCA.ListCertificateAuthorities\r\nContent-Type: application/x-amz-json-1.1\r\n";
my @framing = (
    ['chunked body', "POST / HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n${target}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", qr/^HTTP\/1\.1 [24]\d\d/],
    ['no body, no length', "POST / HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n$target\r\n", qr/^HTTP\/1\.1 [24]\d\d/],
    ['a body over ACMPCAMaxBodySize', "POST / HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n${target}Content-Length: 70000\r\n\r\n" . ('{' x 70000), qr/^HTTP\/1\.1 413/],
    ['a declared length far over the limit', "POST / HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n${target}Content-Length: 9999999999\r\n\r\n{}", qr/^HTTP\/1\.1 (413|400)/],
    ['a body cut short', "POST / HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n${target}Content-Length: 100\r\n\r\n{\"MaxResults\":", qr/^(|HTTP\/1\.1 [45]\d\d.*)$/s],
    ['a huge header', "POST / HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n${target}X-Amz-Date: " . ('9' x 9000) . "\r\nContent-Length: 2\r\n\r\n{}", qr/^HTTP\/1\.1 4\d\d/],
    ['HTTP/1.0 without Host', "POST / HTTP/1.0\r\n${target}Content-Length: 2\r\n\r\n{}", qr/^HTTP\/1\.1 [24]\d\d/],
);
@bad = ();
for my $c (@framing) {
    my $out = raw_exchange($c->[1], half_close => $c->[0] eq 'a body cut short', timeout => 70);
    push @bad, "$c->[0]: " . (($out =~ /^(.*?)\r?\n/)[0] // '(nothing)') unless $out =~ $c->[2];
}
ok(!@bad, scalar(@framing) . ' requests with odd framing: each answered as it should be') or diag(join "\n", @bad);

ok($s->answers, 'the server still answers');
my @crash = grep { /exit signal|Segmentation|double free|AddressSanitizer|runtime error/ } split /\n/, $s->error_log;
ok(!@crash, 'no child crashed during the sweep') or diag(join "\n", @crash[0 .. ($#crash < 5 ? $#crash : 5)]);
$s->stop;
