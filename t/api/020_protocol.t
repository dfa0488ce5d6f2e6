# The AWS JSON 1.1 protocol layer (PCA-API.md §1): X-Amz-Target dispatch,
# SerializationException for bodies that are not a JSON object or carry a member
# of the wrong JSON type, content types, unknown members, the body size limit,
# methods other than POST, x-amzn-RequestId on every response, the error body.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 40, need_module('acmpca');

my $missing_ca = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-4000-8000-000000000000';

# ---- X-Amz-Target
is_aws_error(raw_post('ACMPrivateCA.NoSuchOperation', '{}'), 400, 'UnknownOperationException', undef,
    'unknown operation -> UnknownOperationException');
is_aws_error(raw_post(undef, '{}'), 400, 'UnknownOperationException', undef,
    'no X-Amz-Target -> UnknownOperationException');
is_aws_error(raw_post('CertificateManager.ListCertificates', '{}'), 400, 'UnknownOperationException', undef,
    'another service prefix -> UnknownOperationException');
is_aws_error(raw_post('ACMPrivateCA.', '{}'), 400, 'UnknownOperationException', undef,
    'empty operation name -> UnknownOperationException');
is_aws_error(raw_post('ACMPrivateCA.listCertificateAuthorities', '{}'), 400, 'UnknownOperationException', undef,
    'operation names are case-sensitive -> UnknownOperationException');
is_aws_error(raw_post('ACMPrivateCA.NoSuchOperation', '{not json'), 400, 'UnknownOperationException', undef,
    'an unknown target wins over a bad body (target before JSON)');

# ---- bodies that are not a JSON object
for my $case (['{not json', 'malformed JSON'], ['[]', 'a JSON array'], ['"x"', 'a JSON string'],
              ['42', 'a JSON number'], ['null', 'JSON null'], ['{"a":1', 'truncated JSON'],
              ["{\"MaxResults\":1}\xff", 'JSON followed by garbage']) {
    is_aws_error(raw_post('ACMPrivateCA.ListCertificateAuthorities', $case->[0]), 400, 'SerializationException',
        undef, "ListCertificateAuthorities with $case->[1] -> SerializationException");
}

# ---- members of the wrong JSON type
is_aws_error(scalar((api(DescribeCertificateAuthority => { CertificateAuthorityArn => 5 }))[2]), 400,
    'SerializationException', undef, 'a number where a string belongs -> SerializationException');
is_aws_error(scalar((api(ListCertificateAuthorities => { MaxResults => '10' }))[2]), 400,
    'SerializationException', undef, 'a string where an integer belongs -> SerializationException');
is_aws_error(scalar((api(DescribeCertificateAuthority => { CertificateAuthorityArn => [$missing_ca] }))[2]), 400,
    'SerializationException', undef, 'a list where a string belongs -> SerializationException');
is_aws_error(scalar((api(CreateCertificateAuthority => {
        CertificateAuthorityType => 'ROOT',
        CertificateAuthorityConfiguration => { KeyAlgorithm => 'EC_prime256v1', SigningAlgorithm => 'SHA256WITHECDSA',
                                               Subject => { CommonName => 'x' } },
        Tags => { Key => 'a' } }))[2]), 400,
    'SerializationException', undef, 'an object where a list belongs -> SerializationException');
is_aws_error(scalar((api(CreateCertificateAuthority => {
        CertificateAuthorityType => 'ROOT',
        CertificateAuthorityConfiguration => 'EC_prime256v1' }))[2]), 400,
    'SerializationException', undef, 'a string where a structure belongs -> SerializationException');
is_aws_error(raw_post('ACMPrivateCA.UpdateCertificateAuthority',
        qq({"CertificateAuthorityArn":"$missing_ca","RevocationConfiguration":{"CrlConfiguration":{"Enabled":"yes"}}})),
    400, 'SerializationException', undef, 'a string where a boolean belongs -> SerializationException');
is_aws_error(raw_post('ACMPrivateCA.ListCertificateAuthorities', '{"MaxResults":2.5}'), 400,
    'SerializationException', undef, 'a fraction where an integer belongs -> SerializationException');
is_aws_error(raw_post('ACMPrivateCA.ImportCertificateAuthorityCertificate',
        qq({"CertificateAuthorityArn":"$missing_ca","Certificate":"%%% not base64 %%%"})), 400,
    'SerializationException', undef, 'a blob that is not base64 -> SerializationException (before the CA lookup)');

# ---- what is accepted
{
    my $r = raw_post('ACMPrivateCA.ListCertificateAuthorities', '');
    is_api_ok($r, 'an empty body is taken as {}');
    $r = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{"NoSuchMember":1,"Other":{"x":[1]}}');
    is_api_ok($r, 'unknown members are ignored');
    $r = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}', 'Content-Type' => 'application/x-amz-json-1.0');
    is_api_ok($r, 'Content-Type application/x-amz-json-1.0 is accepted');
    $r = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}', 'Content-Type' => 'application/json');
    is_api_ok($r, 'Content-Type application/json is accepted');
    $r = raw_post('ACMPrivateCA.ListCertificateAuthorities', "\n { } \n");
    is_api_ok($r, 'whitespace around the object is fine');
}

# ---- responses
{
    my(undef, undef, $ok) = api(ListCertificateAuthorities => {});
    unlike($ok->content, qr/:\s*null\b/, 'a success body carries no null members');
    my $err = raw_post('ACMPrivateCA.NoSuchOperation', '{}');
    like($err->header('Content-Type') // '', qr{^application/x-amz-json-1\.1\b}, 'an error is application/x-amz-json-1.1');
    my $e = json_decode($err->content) || {};
    ok(exists $e->{message} && !exists $e->{Message}, 'the error message member is "message"');
    my(undef, undef, $nf) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $missing_ca });
    is_aws_error($nf, 400, 'ResourceNotFoundException', undef, 'a service error carries x-amzn-RequestId too');
}

# ---- methods other than POST
for my $m (qw(GET PUT DELETE)) {
    my $r = raw_request($m => '/', ($m eq 'GET' || $m eq 'DELETE' ? '' : '{}'),
                        'X-Amz-Target' => 'ACMPrivateCA.ListCertificateAuthorities');
    ok($r->code >= 400 && $r->code < 500, "$m / on the API is a 4xx error") or diag($r->status_line);
    ok(!(json_decode($r->content) // {})->{CertificateAuthorities}, "... and lists nothing");
}

# ---- the body size limit (ACMPCAMaxBodySize 4194304 in extra.conf.in)
{
    my $big = '{"NextToken":"' . ('A' x (5 * 1024 * 1024)) . '"}';
    my $r = raw_post('ACMPrivateCA.ListCertificateAuthorities', $big);
    ok($r->code >= 400 && $r->code < 500, 'a body over ACMPCAMaxBodySize is refused with a 4xx')
        or diag($r->status_line);
    my $h = raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}');
    is_api_ok($h, 'the server still answers afterwards');

    # Chunked, so the limit cannot be checked from Content-Length alone.
    my $sock = Apache::TestRequest::vhost_socket('acmpca');
    my $chunk = 'A' x 65536;
    my $ok = 0;
    if ($sock) {
        my $hp = hostport();
        print $sock "POST / HTTP/1.1\r\nHost: $hp\r\nContent-Type: application/x-amz-json-1.1\r\n"
            . "X-Amz-Target: ACMPrivateCA.ListCertificateAuthorities\r\nTransfer-Encoding: chunked\r\n"
            . "Connection: close\r\n\r\n";
        local $SIG{PIPE} = 'IGNORE';
        print $sock sprintf("%x\r\n%s\r\n", length('{"NextToken":"'), '{"NextToken":"');
        for (1 .. 80) { last unless print $sock sprintf("%x\r\n%s\r\n", length $chunk, $chunk) }
        print $sock "2\r\n\"}\r\n0\r\n\r\n";
        my $status = '';
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 60;
        eval { $status = <$sock> // '' };
        alarm 0;
        $ok = $status =~ m{^HTTP/1\.\d 4\d\d};
        diag("chunked oversize: $status") unless $ok;
    }
    ok($ok, 'a chunked body over the limit is refused with a 4xx');
    is_api_ok(raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}'), 'the server still answers after that');
}
