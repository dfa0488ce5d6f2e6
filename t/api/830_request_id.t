# Request IDs in the logs: the x-amzn-RequestId of a failing request is found in the
# error log, on the one info line per operation (principal, operation, CA, outcome,
# duration) and on every other line about that request; LogFormat gets it as
# %{ACMPCA_REQUEST_ID}e and %L, with the operation and outcome as notes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use File::Spec::Functions qw(catfile);
use HTTP::Request ();
use IO::Socket::INET ();
use Time::HiRes ();

plan tests => 14, need_module('acmpca');

my $V = 'acmpca_visible';
my $LOGS = Apache::Test::vars('t_logs');
my $ERROR_LOG = catfile($LOGS, 'error_log');
my $ACCESS_LOG = catfile($LOGS, 'acmpca_visible_access_log');
my $NO_CA = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/'
    . sprintf('%08x-0000-4000-8000-%012x', $$, time);

# Lines of a log that match $re, waiting a little for them (the per-operation line is
# written at log_transaction, just after the response).
sub lines_of {
    my($file, $re, $min) = @_;
    my @found;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        open my $fh, '<', $file or die "$file: $!";
        @found = grep { $_ =~ $re } <$fh>;
        close $fh;
        last if @found >= ($min // 1);
        Time::HiRes::sleep(0.2);
    }
    chomp @found;
    @found;
}

# ---- a request that fails in the operation
my(undef, undef, $res) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $NO_CA }, -module => $V);
is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'a DescribeCertificateAuthority that fails');
my $id = $res->header('x-amzn-RequestId') // 'none';
my @l = lines_of($ERROR_LOG, qr/ACMPCA0800: request \Q$id\E:/);
is(scalar(@l), 1, 'the error log has one ACMPCA0800 line with its request ID');
my $line = $l[0] // '';
like($line, qr/\[acmpca:info\]/, '... at info level');
like($line, qr/principal=arn:aws:iam::123456789012:user\/admin operation=DescribeCertificateAuthority /,
     '... with the principal and the operation');
like($line, qr/ ca=\Q$NO_CA\E outcome=ResourceNotFoundException status=400 duration_ms=\d+\.\d{3}$/,
     '... the CA, the outcome, the status and the duration');

# ---- a request refused before the operation (bad signature), over a socket of our
# own: every error log line of that client (its address and port) carries the ID.
my $hp = hostport($V);
my $creds = credentials();
my $req = HTTP::Request->new(POST => "http://$hp/");
$req->header(Host => $hp);
$req->header('Content-Type' => 'application/x-amz-json-1.1');
$req->header('X-Amz-Target' => 'ACMPrivateCA.ListCertificateAuthorities');
$req->content('{}');
ACMPCA::Test::sign_request($req, credentials => { AccessKeyId => $creds->{AccessKeyId},
                                                  SecretAccessKey => 'wrong' . $creds->{SecretAccessKey} });
$req->header('Content-Length' => 2);
$req->header(Connection => 'close');
my($host, $port) = split /:/, $hp;
my $log_offset = -s $ERROR_LOG;    # an earlier test's connection may have had our port
my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 30)
    or die "connect $hp: $!";
my $client = $sock->sockhost . ':' . $sock->sockport;
print $sock "POST / HTTP/1.1\r\n" . $req->headers->as_string("\r\n") . "\r\n" . $req->content;
my $raw = do { local $/; <$sock> } // '';
close $sock;
my($status) = $raw =~ m{^HTTP/1\.1 (\d+)};
my($bad_id) = $raw =~ /^x-amzn-RequestId: (\S+)\r?$/mi;
is($status, 400, 'a request with a wrong signature is refused');
like($raw, qr/InvalidSignatureException/, '... with InvalidSignatureException');
@l = lines_of($ERROR_LOG, qr/ACMPCA0800: request \Q$bad_id\E:/);
like($l[0] // '', qr/operation=ListCertificateAuthorities ca=- outcome=InvalidSignatureException status=400/,
     'its ACMPCA0800 line names the operation and the outcome');
# The lines may reach the file a moment after the response: wait a little for them.
my @mine;
for (1 .. 50) {
    open my $fh, '<', $ERROR_LOG or die "$ERROR_LOG: $!";
    seek $fh, $log_offset, 0;
    @mine = grep { /\[client \Q$client\E\]/ } <$fh>;
    close $fh;
    chomp @mine;
    last if @mine;
    select(undef, undef, undef, 0.1);
}
ok(scalar(@mine), "the error log has lines of client $client") or diag("no line of $client");
is_deeply([grep { !/\Q$bad_id\E/ } @mine], [], '... and every one carries the request ID');

# ---- the access log (LogFormat %{ACMPCA_REQUEST_ID}e, %L and the notes)
my @a = lines_of($ACCESS_LOG, qr/ id=\Q$id\E /);
is(scalar(@a), 1, 'the access log has the failing request under %{ACMPCA_REQUEST_ID}e');
like($a[0] // '', qr/ 400 id=\Q$id\E log_id=\Q$id\E /, '... and %L is the same ID');
like($a[0] // '', qr/ op=DescribeCertificateAuthority outcome=ResourceNotFoundException principal=arn:aws:iam::123456789012:user\/admin ca=\Q$NO_CA\E$/,
     '... with the operation, outcome, principal and CA as notes');
@a = lines_of($ACCESS_LOG, qr/ id=\Q$bad_id\E /);
like($a[0] // '', qr/ 400 id=\Q$bad_id\E .* op=ListCertificateAuthorities outcome=InvalidSignatureException /,
     'the refused request is there too, its outcome noted');
